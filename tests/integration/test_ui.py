"""What a data-quality owner sees in a real browser after a small refresh: the Dagster UI (asset
graph, checks), the report and quality trend pages, the Data Docs with no network, and MLflow.

A real headless Chromium (Debian's `chromium`, driven by playwright) talks to a real Dagster
webserver, a real MLflow server and `synthpipe serve`, all on 127.0.0.1. Every request for
any other host is refused and recorded, so a page that needs the internet fails here.

`SYNTHPIPE_SCREENSHOTS=<folder>` keeps the screenshots (`make screenshots` writes docs/screenshots).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from synthpipe import metadata_keys as keys
from synthpipe.demo_data import load_adult, write_duckdb_table
from synthpipe.factory import REFRESH_JOB, build_synthpipe_defs

pytestmark = [pytest.mark.integration, pytest.mark.browser]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
LOCATION = "synthpipe"
BIN = Path(sys.executable).parent
STAGES = ("source", "synthesizer", "synthetic", "published")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _stop(processes: list[subprocess.Popen], grace: float = 10) -> None:
    """SIGTERM to each server's process group, then SIGKILL to any group still there after
    `grace` seconds: the servers need no clean shutdown, their stores are thrown away."""
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _wait_for(url: str, process: subprocess.Popen, log: Path, seconds: int = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(1)
    raise RuntimeError(f"{url} did not answer within {seconds} s:\n{log.read_text()[-3000:]}")


@dataclass
class Stack:
    dagster: str
    mlflow: str
    files: str
    instance: dg.DagsterInstance
    result: dg.ExecuteInProcessResult
    screenshots: Path
    external: list[str] = field(default_factory=list)

    def metadata(self, table: str, stage: str) -> dict[str, Any]:
        [event] = [e for e in self.result.get_asset_materialization_events() if e.asset_key == dg.AssetKey([table, stage])]
        return {k: getattr(v, "value", v) for k, v in event.step_materialization_data.materialization.metadata.items()}

    def check(self, table: str, name: str) -> Any:
        return next(e for e in self.result.get_asset_check_evaluations() if e.asset_key == dg.AssetKey([table, "synthetic"]) and e.check_name == name)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if CHROMIUM is None:
        pytest.skip("no Chromium: `make browser` installs Debian's chromium package (apt-get, as root)")
    # Setup: a real refresh of two tables (one passes, one is blocked by a quality threshold above
    # reach) in a Dagster instance on disk that the webserver reads
    root = tmp_path_factory.mktemp("ui")
    data, home = root / "data", root / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    write_duckdb_table(data / "sources" / "adult.duckdb", "adult", load_adult(rows=1_200, seed=7))
    ports = {name: _free_port() for name in ("dagster", "mlflow", "files")}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    config = {
        "data_dir": str(data),
        "source": {"kind": "duckdb", "database": "sources/adult.duckdb"},
        "mlflow": {"experiment": "synthpipe-ui"},
        "links": {"files_url": urls["files"], "mlflow_url": urls["mlflow"]},
        "tables": [
            {"name": "adult", "quality_threshold": 0.6, "num_rows": 600, "seed": 11},
            {"name": "adult_strict", "source_table": "adult", "quality_threshold": 0.999, "num_rows": 600, "seed": 11},
        ],
    }
    (root / "config.json").write_text(json.dumps(config))
    (root / "defs.py").write_text(
        "import json\nfrom synthpipe.factory import build_synthpipe_defs\n"
        f"defs = build_synthpipe_defs(json.load(open({str(root / 'config.json')!r})))\n"
    )
    (root / "workspace.yaml").write_text(f"load_from:\n  - python_file:\n      relative_path: defs.py\n      location_name: {LOCATION}\n")
    instance = dg.DagsterInstance.from_config(str(home))
    result = build_synthpipe_defs(config).resolve_job_def(REFRESH_JOB).execute_in_process(instance=instance, raise_on_error=False)

    # MLflow's server also starts a job runner (huey consumers, for its GenAI jobs), which
    # synthpipe does not use and which outlived the server's SIGTERM.
    env = {**os.environ, "DAGSTER_HOME": str(home), "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    commands = {
        "dagster": [str(BIN / "dagster-webserver"), "-w", str(root / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(ports["dagster"])],
        "mlflow": [str(BIN / "mlflow"), "server", "--backend-store-uri", f"sqlite:///{data / 'mlflow' / 'mlflow.db'}",
                   "--host", "127.0.0.1", "--port", str(ports["mlflow"]), "--workers", "1"],
        "files": [str(BIN / "synthpipe"), "serve", "--data-dir", str(data), "--port", str(ports["files"])],
    }
    processes = {}
    try:
        for name, command in commands.items():
            log = root / f"{name}.log"
            # Each server in its own process group, so that stopping it stops what it started
            processes[name] = (subprocess.Popen(command, cwd=root, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                                                start_new_session=True), log)
        for name, ready in (("dagster", "/server_info"), ("mlflow", "/health"), ("files", "/")):
            _wait_for(urls[name] + ready, *processes[name])
        screenshots = Path(os.environ.get("SYNTHPIPE_SCREENSHOTS") or root / "screenshots")
        screenshots.mkdir(parents=True, exist_ok=True)
        yield Stack(urls["dagster"], urls["mlflow"], urls["files"], instance, result, screenshots)
    finally:
        _stop([process for process, _ in processes.values()])
        instance.dispose()


@pytest.fixture(scope="module")
def browser(stack: Stack) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, stack: Stack) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})

    def local_only(route: Any) -> None:
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "data:", "blob:")):
            route.continue_()
        else:
            stack.external.append(url)
            route.abort()

    context.route("**/*", local_only)
    page = context.new_page()
    page.set_default_timeout(90_000)
    yield page
    context.close()


def _open_dagster(page: Any, url: str) -> None:
    """Opens a Dagster UI page, past the one-time community dialog."""
    page.goto(url)
    skip = page.get_by_role("button", name="Skip")
    try:
        skip.wait_for(timeout=5_000)
        skip.click()
    except Exception:  # noqa: BLE001  (the dialog is shown once per browser profile)
        pass


def test_the_stages_of_a_table_read_apart_in_the_asset_graph(stack, page):
    # Run
    _open_dagster(page, f"{stack.dagster}/locations/{LOCATION}/asset-groups/synthpipe_adult")
    page.get_by_text("synthesizer", exact=True).first.wait_for()

    # Assert: each node is labelled by its stage, with the kinds that tell them apart
    for stage in STAGES:
        assert page.get_by_text(stage, exact=True).count() >= 1, stage
    for kind in ("DuckDB", "ML Flow", "Great Expectations", "Delta Lake"):
        assert page.get_by_text(kind, exact=True).count() >= 1, kind
    page.get_by_text("5 / 5 Passed").wait_for()  # the candidate's checks, on its node
    page.screenshot(path=stack.screenshots / "asset-graph.png")


def test_the_checks_of_the_candidate_show_passed_and_blocking(stack, page):
    # Run
    _open_dagster(page, f"{stack.dagster}/assets/adult/synthetic?view=checks")
    page.get_by_text("value_leaks", exact=True).first.wait_for()
    page.get_by_text("quality", exact=True).first.click()

    # Assert: every check succeeded; the selected one blocks and reads as its verdict in one line
    assert page.get_by_text("Succeeded", exact=True).count() == 5
    verdict = stack.check("adult", "quality").description
    assert verdict.startswith("quality 0.") and verdict.endswith("≥ 0.6 ✓ (`quality_threshold`)")
    page.get_by_text(verdict.replace("`", "")).first.wait_for()
    assert page.get_by_text("blocking").count() >= 1
    page.screenshot(path=stack.screenshots / "checks.png")


def test_a_failed_check_is_understood_from_its_first_line(stack, page):
    # Run
    _open_dagster(page, f"{stack.dagster}/assets/adult_strict/synthetic?view=checks")
    page.get_by_text("Failed", exact=True).first.wait_for()
    page.get_by_text("quality", exact=True).first.click()

    # Assert: the first line names the measure, its value and the threshold
    evaluation = stack.check("adult_strict", "quality")
    score = evaluation.metadata[keys.QUALITY_SCORE].value
    first_line = evaluation.description.splitlines()[0]
    assert not evaluation.passed and first_line.startswith(f"SDMetrics quality score {score:.4f} is ")
    assert first_line.endswith("below the threshold 0.999 (`quality_threshold`)")
    page.get_by_text(first_line.replace("`", "")).first.wait_for()
    assert page.get_by_text("Succeeded", exact=True).count() == 4  # quality failed, the other four passed
    page.screenshot(path=stack.screenshots / "failed-check.png")


def test_the_report_and_trend_links_open_pages_with_the_scores(stack, page):
    # Setup
    synthetic = stack.metadata("adult", "synthetic")
    report, trend = synthetic[keys.REPORT], synthetic[keys.QUALITY_TREND]
    assert report.startswith(stack.files + "/") and trend.startswith(stack.files + "/")

    # Run: follow the links as rendered by the Dagster UI
    _open_dagster(page, f"{stack.dagster}/assets/adult/synthetic")
    link = page.locator(f'a[href="{report}"]').first
    link.wait_for()
    assert page.locator(f'a[href="{trend}"]').count() >= 1
    page.screenshot(path=stack.screenshots / "synthetic-asset.png")
    page.goto(link.get_attribute("href"))

    # Assert: the report names the table and carries the quality score the check measured
    score = stack.check("adult", "quality").metadata[keys.QUALITY_SCORE].value
    page.get_by_text("Synthetic twin of").wait_for()
    assert f"{score:.4f}" in page.inner_text("body")
    page.goto(trend)
    assert "quality_threshold = 0.6" in page.inner_text("body")
    assert page.locator("img").count() == 1
    page.screenshot(path=stack.screenshots / "quality-trend.png")


def test_data_docs_render_with_no_network(stack, page):
    # Setup
    docs = stack.check("adult", "expectations").metadata[keys.DATA_DOCS].value
    assert docs.startswith(stack.files + "/data_docs/adult/")
    index = docs.split("/validations/")[0] + "/index.html"
    before = len(stack.external)

    # Run: the validation page, then the site's index
    page.goto(docs)
    page.get_by_text("Data asset: adult").wait_for()
    validation_styled = page.evaluate("[...document.styleSheets].filter(s => s.href).every(s => s.cssRules.length > 0)")
    page.goto(index)
    page.get_by_text("dagster-run-").first.wait_for()  # the list of validations, filled in by jQuery

    # Assert: styled and scripted from the site's own copies; the validation list is filled in
    assert validation_styled and page.evaluate("typeof window.jQuery") == "function"
    assert page.evaluate("getComputedStyle(document.querySelector('.btn')).display") == "inline-block"  # Bootstrap's
    assert page.get_by_text("__none__").count() == 0  # the run is named
    assert stack.external[before:] == []
    page.screenshot(path=stack.screenshots / "data-docs.png")


def test_mlflow_opens_the_run_and_the_experiment_on_runs(stack, page):
    # Setup: the link on the published twin
    published = stack.metadata("adult", "published")
    run_link, model_link = published[keys.MLFLOW_RUN], published[keys.MODEL_VERSION_PAGE]
    assert run_link.startswith(stack.mlflow + "/#/experiments/") and published[keys.MLFLOW_RUN_ID] in run_link

    # Run
    page.goto(run_link)

    # Assert: the run, named by table and date, in the model-training view with its scores
    page.get_by_text("quality_score").first.wait_for()
    assert page.get_by_text("adult 20").count() >= 1
    assert page.get_by_text("Model metrics").count() >= 1 and page.get_by_text("Evaluation runs").count() == 0
    page.screenshot(path=stack.screenshots / "mlflow-run.png")
    experiment = run_link.split("/runs/")[0]
    page.goto(experiment + "?workflowType=machine_learning")
    page.get_by_text("adult 20").first.wait_for()
    page.goto(model_link)
    page.get_by_text("Version 1").first.wait_for()
