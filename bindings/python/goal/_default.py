"""Where the default model is: the folder `goal.Model()` opens when given no path.

Search order: the GOAL_DEFAULT_MODEL environment variable (a model folder, used as given); the
copy installed inside this package (setup.py copies the repository's models/goal-tiny there);
models/goal-tiny of the repository this package sits in, when imported from a checkout.
"""

from __future__ import annotations

import os
from pathlib import Path

from ._errors import ModelNotFoundError

DEFAULT_MODEL = "goal-tiny"
_PACKAGE_DIR = Path(__file__).resolve().parent


def default_model_path() -> Path:
    """The folder of the default model (a tiny CLIP trained on synthetic scenes; see its README)."""
    override = os.environ.get("GOAL_DEFAULT_MODEL")
    if override:
        if not Path(override).is_dir():
            raise ModelNotFoundError(f"GOAL_DEFAULT_MODEL is set to {override!r}, which is not a folder")
        return Path(override)
    candidates = [_PACKAGE_DIR / "models" / DEFAULT_MODEL, _PACKAGE_DIR.parent.parent.parent / "models" / DEFAULT_MODEL]
    for path in candidates:
        if path.is_dir():
            return path
    raise ModelNotFoundError("the default model is not installed (looked in " + ", ".join(map(str, candidates))
                             + "); pass a model folder, or set GOAL_DEFAULT_MODEL")
