import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "fixtures"
HEADER = REPO / "include" / "goal.h"


def manifest():
    return json.loads((FIXTURES / "models" / "MANIFEST.json").read_text())


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES
