import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "fixtures"
HEADER = REPO / "include" / "goal.h"

# Test the library this checkout just built, not a copy an earlier `pip install` left in the
# package; GOAL_LIBRARY set by the caller still wins.
_BUILT = REPO / ".build" / "release" / "libgoal.so"
if _BUILT.is_file():
    os.environ.setdefault("GOAL_LIBRARY", str(_BUILT))


def manifest():
    return json.loads((FIXTURES / "models" / "MANIFEST.json").read_text())


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES
