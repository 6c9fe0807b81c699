"""The package as users install it: one importable name, imports that run one way, and the
component visible to Dagster's `dg` command line."""

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import dagster as dg
import pytest
import yaml

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _run(command: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **env}
    if "PYTHONPATH" not in env:
        environment.pop("PYTHONPATH", None)
    return subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The built wheel installed into a fresh virtualenv; returns its site-packages folder."""
    work = tmp_path_factory.mktemp("wheel")
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(work), str(ROOT)], work)
    assert built.returncode == 0, built.stderr[-3000:]
    shutil.rmtree(ROOT / "build", ignore_errors=True)  # setuptools' scratch folder
    venv = work / "venv"
    assert _run([sys.executable, "-m", "venv", str(venv)], work).returncode == 0
    site = Path(_run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], work).stdout.strip())
    before = set(os.listdir(site))
    wheel = next(work.glob("synthpipe-*.whl"))
    pip = _run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], work)
    assert pip.returncode == 0, pip.stderr[-3000:]
    (work / "added.txt").write_text("\n".join(sorted(set(os.listdir(site)) - before)))
    return site


def test_installing_the_wheel_adds_one_importable_name(installed):
    # Setup: what the wheel holds, and what installing it added to a fresh virtualenv
    wheel = next(installed.parents[3].glob("synthpipe-*.whl"))
    top = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    added = (installed.parents[3] / "added.txt").read_text().split()

    # Assert: `synthpipe` and its metadata, nothing generic such as `pipelines` or `assets`
    assert {name for name in top if not name.endswith(".dist-info")} == {"synthpipe"}
    assert {name for name in added if not name.endswith(".dist-info")} == {"synthpipe"}
    assert (installed / "synthpipe" / "defs" / "nightly" / "defs.yaml").exists()


def test_every_installed_module_imports_outside_the_repository(installed, tmp_path):
    # Setup: the installed copy first on the path, the project's dependencies after it
    dependencies = sysconfig.get_paths()["purelib"]
    script = (
        "import importlib, pkgutil, synthpipe\n"
        "names = [m.name for m in pkgutil.walk_packages(synthpipe.__path__, 'synthpipe.')]\n"
        "for name in names: importlib.import_module(name)\n"
        "print(synthpipe.__file__); print(len(names))\n"
    )

    # Run: from a folder that holds no synthpipe source
    result = _run([sys.executable, "-c", script], tmp_path, PYTHONPATH=f"{installed}{os.pathsep}{dependencies}")

    # Assert: every module (assets, resources, expectations included) comes from the install
    assert result.returncode == 0, result.stderr[-3000:]
    where, count = result.stdout.split()[-2:]
    assert where.startswith(str(installed)) and int(count) > 40


def test_imports_keep_the_layer_contracts(installed):
    # Run: import-linter on the installed layout (the repository's folders map onto it)
    result = _run([str(BIN / "lint-imports"), "--no-cache"], ROOT, PYTHONPATH=str(installed))

    # Assert: every contract of pyproject.toml kept
    assert result.returncode == 0, result.stdout[-4000:]
    assert "broken" not in result.stdout.split("Contracts:")[-1].lower().replace("0 broken", "")


def test_a_contract_breach_is_reported(installed, tmp_path):
    # Setup: a copy of the install whose configuration layer imports a stage
    copy = tmp_path / "site"
    shutil.copytree(installed / "synthpipe", copy / "synthpipe")
    errors = copy / "synthpipe" / "errors.py"
    errors.write_text(errors.read_text() + "\nfrom synthpipe.assets import split  # noqa\n")

    # Run
    result = _run([str(BIN / "lint-imports"), "--no-cache"], ROOT, PYTHONPATH=str(copy))

    # Assert
    assert result.returncode != 0
    assert "synthpipe.errors -> synthpipe.assets.split" in result.stdout


def _dg(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return _run([str(BIN / "dg"), *args], cwd, VIRTUAL_ENV=str(BIN.parent), NO_COLOR="1", COLUMNS="200")


def test_dg_lists_the_component():
    result = _dg("list", "components")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "synthpipe.SynthpipeComponent" in result.stdout


def _project(tmp_path: Path) -> Path:
    """A Dagster project of the repository's layout: pyproject's `tool.dg` and a defs folder."""
    (tmp_path / "pipelines" / "defs").mkdir(parents=True)
    (tmp_path / "pipelines" / "__init__.py").write_text("")
    (tmp_path / "pipelines" / "defs" / "__init__.py").write_text("")
    dg_settings = (ROOT / "pyproject.toml").read_text().split("[tool.dg]", 1)[1].split("\n[tool.importlinter]", 1)[0]
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "twins"\nversion = "0"\n\n[tool.dg]' + dg_settings)
    return tmp_path


def test_dg_check_yaml_accepts_the_default_and_names_a_misspelt_setting(tmp_path):
    # Setup: the embedded default, and a copy with a misspelt table setting
    project = _project(tmp_path)
    bad = project / "pipelines" / "defs" / "nightly"
    bad.mkdir()
    default = yaml.safe_load((ROOT / "pipelines" / "defs" / "nightly" / "defs.yaml").read_text())
    default["attributes"]["tables"][0]["quality_treshold"] = 0.7
    (bad / "defs.yaml").write_text(yaml.safe_dump(default))

    # Run
    good, misspelt = _dg("check", "yaml"), _dg("check", "yaml", cwd=project)

    # Assert
    assert good.returncode == 0, good.stdout[-3000:] + good.stderr[-3000:]
    assert misspelt.returncode != 0
    assert "quality_treshold" in misspelt.stdout + misspelt.stderr


def test_dg_scaffold_writes_a_component_that_runs(tmp_path, source_db, data_dir, instance, monkeypatch):
    # Setup: a fresh project; the scaffold pointed at a real DuckDB source (an Adult slice)
    from synthpipe import metadata_keys as keys
    from synthpipe.component import SynthpipeComponent
    from synthpipe.factory import REFRESH_JOB, build_synthpipe_defs

    project = _project(tmp_path / "project")
    params = '{"database": "sources/adult.duckdb", "table": "adult"}'

    # Run: scaffold, validate, load through Dagster's component tree, run the nightly job
    scaffolded = _dg("scaffold", "defs", "synthpipe.SynthpipeComponent", "twins", "--json-params", params, cwd=project)
    checked = _dg("check", "yaml", cwd=project)
    monkeypatch.setenv("SYNTHPIPE_HOME", str(data_dir))
    monkeypatch.chdir(project / "pipelines" / "defs")
    [component] = dg.ComponentTree.for_test().get_all_components(of_type=SynthpipeComponent)
    result = build_synthpipe_defs(component.to_config()).resolve_job_def(REFRESH_JOB).execute_in_process(instance=instance, raise_on_error=False)

    # Assert: the file validates and the refresh reads, fits, samples and checks the table
    assert scaffolded.returncode == 0, scaffolded.stdout[-3000:] + scaffolded.stderr[-3000:]
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr[-3000:]
    assert "# pii:" in (project / "pipelines" / "defs" / "twins" / "defs.yaml").read_text()
    [synthetic] = result.asset_materializations_for_node("adult__synthetic")
    assert synthetic.metadata[keys.QUALITY_SCORE].value > 0
    checks = {e.asset_check_key.name for e in result.get_asset_check_evaluations()}
    assert {"expectations", "quality", "dcr", "value_leaks"} <= checks
