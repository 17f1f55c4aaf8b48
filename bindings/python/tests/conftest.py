import json
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "fixtures"
HEADER = REPO / "include" / "goal.h"

# Test this checkout — its Python package and the library it just built — not copies an earlier
# `pip install` left in site-packages; GOAL_LIBRARY set by the caller still wins.
sys.path.insert(0, str(REPO / "bindings" / "python"))
_BUILT = REPO / ".build" / "release" / "libgoal.so"
if _BUILT.is_file():
    os.environ.setdefault("GOAL_LIBRARY", str(_BUILT))


def manifest():
    return json.loads((FIXTURES / "models" / "MANIFEST.json").read_text())


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES
