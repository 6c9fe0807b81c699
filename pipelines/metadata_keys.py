"""Namespaced metadata keys shared by assets, checks, the Delta commit log, tests and the demo.

The same names appear in Dagster materialization metadata, in Delta commit metadata and as
MLflow tags, so a version can be traced from any of the three.
"""

PREFIX = "synthpipe/"

TABLE = "synthpipe/table"
ROWS = "synthpipe/rows"
TRAINING_ROWS = "synthpipe/training_rows"
HOLDOUT_ROWS = "synthpipe/holdout_rows"
SOURCE_FINGERPRINT = "synthpipe/source_fingerprint"
SYNTHESIZER = "synthpipe/synthesizer"
FIT_SECONDS = "synthpipe/fit_seconds"
SAMPLE_SECONDS = "synthpipe/sample_seconds"
EVALUATION_SECONDS = "synthpipe/evaluation_seconds"
SEED = "synthpipe/seed"
QUALITY_SCORE = "synthpipe/quality_score"
QUALITY_THRESHOLD = "synthpipe/quality_threshold"
COLUMN_SHAPES = "synthpipe/column_shapes"
COLUMN_PAIR_TRENDS = "synthpipe/column_pair_trends"
WORST_COLUMNS = "synthpipe/worst_columns"
EXPECTATIONS_EVALUATED = "synthpipe/expectations_evaluated"
EXPECTATIONS_FAILED = "synthpipe/expectations_failed"
FAILED_EXPECTATIONS = "synthpipe/failed_expectations"
MLFLOW_RUN_ID = "synthpipe/mlflow_run_id"
MLFLOW_EXPERIMENT_ID = "synthpipe/mlflow_experiment_id"
MODEL_NAME = "synthpipe/model_name"
MODEL_VERSION = "synthpipe/model_version"
DAGSTER_RUN_ID = "synthpipe/dagster_run_id"
SNAPSHOT_VERSION = "synthpipe/snapshot_version"
SNAPSHOT_URI = "synthpipe/snapshot_uri"
CHECKS_PASSED = "synthpipe/checks_passed"
