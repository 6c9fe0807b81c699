"""Links that open from the Dagster UI: file URIs under the data folder become addresses of
`synthpipe serve`, which serves report and Data Docs pages and nothing else."""

import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from synthpipe.config import SynthpipeConfig
from synthpipe.factory import mlflow_ui_url
from synthpipe.resources.links import Links, serve

pytestmark = pytest.mark.unit


def test_a_file_under_the_data_folder_links_to_the_server_and_anything_else_is_kept(tmp_path):
    # Setup
    links = Links(root=tmp_path, files_url="http://docs.internal:3100/", mlflow_url="http://mlflow.internal")
    page = tmp_path / "data_docs" / "adult" / "run 1" / "index.html"

    # Assert
    assert links.file(page.as_uri()) == "http://docs.internal:3100/data_docs/adult/run%201/index.html"
    assert links.file(str(page)) == "http://docs.internal:3100/data_docs/adult/run%201/index.html"
    assert links.file("s3://bucket/mlflow/1/report/adult.html") == "s3://bucket/mlflow/1/report/adult.html"
    assert links.file("file:///elsewhere/report.html") == "file:///elsewhere/report.html"
    assert Links(root=tmp_path, files_url=None).file(page.as_uri()) == page.as_uri()


def test_mlflow_links_open_the_model_training_view():
    links = Links(root=Path("/data"), mlflow_url="http://127.0.0.1:5000/")
    assert links.run("3", "abc") == "http://127.0.0.1:5000/#/experiments/3/runs/abc?workflowType=machine_learning"
    assert links.model_version("twins adult", "4") == "http://127.0.0.1:5000/#/models/twins%20adult/versions/4?workflowType=machine_learning"
    assert Links(root=Path("/data"), mlflow_url=None).run("3", "abc") is None


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({}, "http://127.0.0.1:5000"),
        ({"mlflow": {"tracking_uri": "https://user:secret@mlflow.internal:8443/base"}}, "https://mlflow.internal:8443/base"),
        ({"mlflow": {"tracking_uri": {"env": "MLFLOW_TRACKING_URI"}}}, "http://127.0.0.1:5000"),  # a secret is never read for a link
        ({"links": {"mlflow_url": "https://mlflow.example"}}, "https://mlflow.example"),
    ],
)
def test_the_mlflow_ui_address_never_carries_credentials(settings, expected):
    config = SynthpipeConfig.model_validate({"source": {"database": "a.duckdb"}, "tables": [{"name": "a"}], **settings})
    assert mlflow_ui_url(config) == expected


@pytest.fixture
def served(tmp_path):
    (tmp_path / "data_docs" / "adult" / "r1").mkdir(parents=True)
    (tmp_path / "data_docs" / "adult" / "r1" / "index.html").write_text("<h1>docs</h1>")
    report = tmp_path / "mlflow" / "artifacts" / "run1" / "artifacts" / "report"
    report.mkdir(parents=True)
    (report / "adult.html").write_text("<h1>report</h1>")
    (report.parent / "model").mkdir()
    (report.parent / "model" / "model.pkl").write_bytes(b"weights")
    (tmp_path / "staging" / "runs" / "r1" / "adult").mkdir(parents=True)
    (tmp_path / "staging" / "runs" / "r1" / "adult" / "source.html").write_text("real rows")
    server = serve(tmp_path, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_the_server_serves_pages_and_nothing_else(served):
    # Assert: the pages
    assert _status(f"{served}/data_docs/adult/r1/index.html") == 200
    with urllib.request.urlopen(f"{served}/mlflow/artifacts/run1/artifacts/report/adult.html") as response:
        assert response.read() == b"<h1>report</h1>" and response.headers["Content-Type"].startswith("text/html")
    # ...and not a model, staged real rows (even named .html), a listing or a way out
    assert _status(f"{served}/mlflow/artifacts/run1/artifacts/model/model.pkl") == 404
    assert _status(f"{served}/staging/runs/r1/adult/source.html") == 404
    assert _status(f"{served}/data_docs/adult/r1/") == 404
    assert _status(f"{served}/data_docs/../staging/runs/r1/adult/source.html") == 404
    assert _status(f"{served}/data_docs/%2e%2e/staging/runs/r1/adult/source.html") == 404
