"""Namespaced metadata keys shared by assets, checks, the Delta commit log, tests and the demo.

The same names appear in Dagster materialization metadata, in Delta commit metadata and as
MLflow tags, so a version can be traced from any of the three.
"""

PREFIX = "synthpipe/"

TABLE = "synthpipe/table"
ROWS = "synthpipe/rows"
TRAINING_ROWS = "synthpipe/training_rows"
HOLDOUT_ROWS = "synthpipe/holdout_rows"
FIT_ROWS = "synthpipe/fit_rows"
ROW_LIMIT = "synthpipe/row_limit"
SOURCE_FINGERPRINT = "synthpipe/source_fingerprint"
SOURCE_PROBE = "synthpipe/source_probe"
CONFIG_FINGERPRINT = "synthpipe/config_fingerprint"
FIT_FINGERPRINT = "synthpipe/fit_fingerprint"
MODEL_REUSED = "synthpipe/model_reused"
SYNTHESIZER = "synthpipe/synthesizer"
FIT_SECONDS = "synthpipe/fit_seconds"
SAMPLE_SECONDS = "synthpipe/sample_seconds"
EVALUATION_SECONDS = "synthpipe/evaluation_seconds"
SEED = "synthpipe/seed"
CONDITIONS = "synthpipe/conditions"  # commit metadata: the `conditions` a version was sampled under, as JSON
STEERING = "synthpipe/steering"  # commit metadata: `rebalance`/`fairness` with the real and synthetic shares or parity, as JSON
REBALANCE_GAP = "synthpipe/rebalance_gap"  # largest |synthetic - requested| class share
CLASS_SHARES = "synthpipe/class_shares"  # markdown: each class's real, requested and synthetic share
CLASS_MARGIN = "synthpipe/class_margin"  # lowest (fidelity to its class - fidelity to the other classes) of a rebalanced class
CLASS_FIDELITY = "synthpipe/class_fidelity"  # markdown: each class's synthetic rows against the real rows of that class
REAL_CELLS_KEPT = "synthpipe/real_cells_kept"  # partially synthetic and hybrid tables: share of published cells that are real
GENERATED_COLUMNS = "synthpipe/generated_columns"  # commit metadata: `synthesize_columns` or `impute`, as JSON
PARITY_GAP = "synthpipe/parity_gap"  # the twin's statistical parity gap
PARITY_GAP_REAL = "synthpipe/parity_gap_real"  # the training rows' parity gap
PARITY_RATES = "synthpipe/parity_rates"  # markdown: the target's rate per sensitive group, real and synthetic
QUALITY_SCORE = "synthpipe/quality_score"
COLUMN_SHAPES = "synthpipe/column_shapes"
COLUMN_PAIR_TRENDS = "synthpipe/column_pair_trends"
WORST_COLUMNS = "synthpipe/worst_columns"
EXPECTATIONS_EVALUATED = "synthpipe/expectations_evaluated"
EXPECTATIONS_FAILED = "synthpipe/expectations_failed"
FAILED_EXPECTATIONS = "synthpipe/failed_expectations"
DATA_DOCS = "synthpipe/data_docs"
MLFLOW_RUN_ID = "synthpipe/mlflow_run_id"
# Links that open the MLflow UI on the run and on the registered model version.
MLFLOW_RUN = "synthpipe/mlflow_run"
MODEL_VERSION_PAGE = "synthpipe/model_version_page"
MLFLOW_EXPERIMENT_ID = "synthpipe/mlflow_experiment_id"
MODEL_NAME = "synthpipe/model_name"
MODEL_VERSION = "synthpipe/model_version"
DAGSTER_RUN_ID = "synthpipe/dagster_run_id"
SNAPSHOT_VERSION = "synthpipe/snapshot_version"
SNAPSHOT_URI = "synthpipe/snapshot_uri"
CHECKS_PASSED = "synthpipe/checks_passed"
GATE_INTERVAL = "synthpipe/interval"  # the 95% interval a gate decided on
GATE_THRESHOLD = "synthpipe/threshold"
# Every check of a candidate in one markdown table: measure, threshold, verdict, whether it blocks.
CHECKS_SUMMARY = "synthpipe/checks"
# The quality of every published version and of the candidate, with the threshold drawn (a page).
QUALITY_TREND = "synthpipe/quality_trend"
EXACT_COPY_SHARE = "synthpipe/exact_copy_share"
DCR_CLOSER_SHARE = "synthpipe/dcr_closer_to_training_share"
NNDR_MEDIAN = "synthpipe/nndr_median"
REPORT = "synthpipe/report"
ROW_HASH = "synthpipe/row_hash"
LOOKS_PERSONAL = "synthpipe/looks_personal"
VALUE_LEAK_SHARE = "synthpipe/value_leak_share"
VALUE_LEAK_COLUMNS = "synthpipe/value_leak_columns"
# Differential privacy (`privacy:`): the ε (the value analysis's share included) and δ the model's
# fit spent; in the synthesizer asset's metadata, the Delta commit and the model version's tags.
DP_EPSILON = "synthpipe/dp_epsilon"
DP_DELTA = "synthpipe/dp_delta"

# Keys used once or in one stage, named here so the UI, tests and downstream code agree
AS_OF = "synthpipe/as_of"
AUTO_CANDIDATES = "synthpipe/auto_candidates"
AUTO_WINNER = "synthpipe/auto_winner"
BLOCKED_BY = "synthpipe/blocked_by"
CANDIDATE = "synthpipe/candidate"
DATA_DOCS_REMOVED = "synthpipe/data_docs_removed"
DCR_HOLDOUT_MEDIAN = "synthpipe/dcr_holdout_median"
DCR_TRAINING_MEDIAN = "synthpipe/dcr_training_median"
DIAGNOSTIC_SCORE = "synthpipe/diagnostic_score"
# The downstream models of a table's `train_on` entries side by side, as a markdown table
DOWNSTREAM_COMPARISON = "synthpipe/downstream_comparison"
ENDED_BECAUSE = "synthpipe/ended_because"
EVALUATION_ROWS = "synthpipe/evaluation_rows"
FAILED_CHECKS = "synthpipe/failed_checks"
FITTED_BY_RUN = "synthpipe/fitted_by_run"
FOREIGN_KEYS = "synthpipe/foreign_keys"
GROUP = "synthpipe/group"
GROUP_TABLE = "synthpipe/group_table"
GUARD_ROWS = "synthpipe/guard_rows"
GUARD_SCOPE = "synthpipe/guard_scope"
INTEGRITY_PROBLEMS = "synthpipe/integrity_problems"
MAX_SEQUENCE_LENGTH = "synthpipe/max_sequence_length"
MEAN_SEQUENCE_LENGTH = "synthpipe/mean_sequence_length"
ORPHANS = "synthpipe/orphans"
ORPHAN_ROWS = "synthpipe/orphan_rows"
OVERRIDDEN_BY_USER_SUITES = "synthpipe/overridden_by_user_suites"
PARTITION = "synthpipe/partition"
RARE_VALUE_MIN_COUNT = "synthpipe/rare_value_min_count"
REAL_MAX_SEQUENCE_LENGTH = "synthpipe/real_max_sequence_length"
REAL_MEAN_SEQUENCE_LENGTH = "synthpipe/real_mean_sequence_length"
REFRESH_REASON = "synthpipe/refresh_reason"
RETENTION = "synthpipe/retention"
SAMPLE_CHUNK_ROWS = "synthpipe/sample_chunk_rows"
SAMPLE_ROWS_PER_SECOND = "synthpipe/sample_rows_per_second"
SCALE = "synthpipe/scale"
SEQUENCES = "synthpipe/sequences"
SEQUENCE_LENGTH_DRIFT = "synthpipe/sequence_length_drift"
STAGE = "synthpipe/stage"
STALE_RUN_VALUES_REMOVED = "synthpipe/stale_run_values_removed"
STALE_STAGING_REMOVED = "synthpipe/stale_staging_removed"
STOPPED = "synthpipe/stopped"
TRAIN_ON = "synthpipe/train_on"  # MLflow tag: what a downstream run's model was trained on
UTILITY_METRIC = "synthpipe/utility_metric"
UTILITY_RATIO = "synthpipe/utility_ratio"
UTILITY_REAL_SCORE = "synthpipe/utility_real_score"
UTILITY_SYNTHETIC_SCORE = "synthpipe/utility_synthetic_score"
VALUE_LEAK_COLUMNS_MEASURED = "synthpipe/value_leak_columns_measured"
VERSION = "synthpipe/version"
WORST_TABLE = "synthpipe/worst_table"

# Tables without a source (generated sets and simulations)
FIT_TESTS = "synthpipe/fit_tests"  # each declared distribution's goodness-of-fit test, as a markdown table
CORRELATION_TESTS = "synthpipe/correlation_tests"
REJECTED_ROWS = "synthpipe/rejected_rows"  # rows drawn again because they broke a rule
TWIN_VERSIONS = "synthpipe/twin_versions"  # the published twins' versions a generated set drew from
SIMULATION = "synthpipe/simulation"  # the model class, its parameters and steps
STEPS_PER_SECOND = "synthpipe/steps_per_second"
KEY_PROBLEMS = "synthpipe/key_problems"

# Attack-based privacy risk (anonymeter), each with its 95% interval
SINGLING_OUT_RISK = "synthpipe/singling_out_risk"
LINKABILITY_RISK = "synthpipe/linkability_risk"
INFERENCE_RISK = "synthpipe/inference_risk"
ATTACK_RISKS = "synthpipe/attack_risks"  # every attack with its interval and sample sizes, as a markdown table
