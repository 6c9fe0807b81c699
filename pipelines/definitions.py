"""The code location: `dagster dev -w workspace.yaml` loads the components under `synthpipe.defs`
(the folder `pipelines/defs/`), wherever synthpipe is installed."""

from pathlib import Path

import dagster as dg

import synthpipe.defs


@dg.definitions
def defs() -> dg.Definitions:
    # by module, not by the project file: installed, `synthpipe.defs` has no pyproject.toml beside it
    folder = Path(synthpipe.defs.__file__).parent
    return dg.load_defs(defs_root=synthpipe.defs, project_root=folder.parent, terminate_autoloading_on_keyword_files=False)
