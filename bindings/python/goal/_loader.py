"""Finds and loads libgoal.so.

Search order: the GOAL_LIBRARY environment variable (a path to the library, used as given); a
copy inside this package (placed there by `pip install`); the release build of the source tree
this package sits in; the system's library path.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
_LIBRARY_NAME = "libgoal.so"


def _candidates() -> list[Path]:
    found = [_PACKAGE_DIR / _LIBRARY_NAME]
    # bindings/python/goal -> repository root, when imported from a checkout.
    root = _PACKAGE_DIR.parent.parent.parent
    found.append(root / ".build" / "release" / _LIBRARY_NAME)
    return found


def load_library() -> ctypes.CDLL:
    override = os.environ.get("GOAL_LIBRARY")
    if override:
        if not Path(override).is_file():
            raise OSError(f"GOAL_LIBRARY is set to {override!r}, which is not a file")
        return ctypes.CDLL(override)
    tried = []
    for path in _candidates():
        tried.append(str(path))
        if path.is_file():
            return ctypes.CDLL(str(path))
    system = ctypes.util.find_library("goal")
    if system:
        return ctypes.CDLL(system)
    tried.append("the system library path")
    raise OSError(
        "cannot find libgoal.so; looked in: " + ", ".join(tried)
        + ". Build it with `swift build -c release` or set GOAL_LIBRARY to its path."
    )
