"""The ABI's three lists agree: the functions goal.h declares, the symbols libgoal.so exports,
and the functions the Python layer binds; and the header's constants are the binding's."""

import re
import subprocess

import goal
from goal import _capi
from conftest import HEADER, REPO


def header_functions() -> set[str]:
    text = HEADER.read_text()
    return set(re.findall(r"^GOAL_API\s+[^;(]*?\b(goal_\w+)\s*\(", text, flags=re.M))


def header_constants() -> dict[str, int]:
    text = re.sub(r"/\*.*?\*/", "", HEADER.read_text(), flags=re.S)
    constants = {}
    for body in re.findall(r"enum\s*\w*\s*\{(.*?)\}", text, flags=re.S):
        for name, value in re.findall(r"(GOAL_\w+)\s*=\s*(-?\d+)", body):
            constants[name] = int(value)
    return constants


def exported_symbols() -> set[str]:
    library = _capi.lib._name
    out = subprocess.run(["nm", "-D", "--defined-only", library], check=True, capture_output=True, text=True)
    return {line.split()[-1] for line in out.stdout.splitlines() if line.strip()}


def test_header_declares_functions():
    assert len(header_functions()) >= 20


def test_library_exports_exactly_the_header():
    assert exported_symbols() == header_functions()


def test_every_header_function_is_bound():
    assert set(_capi.BOUND) == header_functions()


def test_export_map_lists_the_header():
    exports = (REPO / "Sources" / "GoalC" / "exports.map").read_text()
    listed = set(re.findall(r"^\s*(goal_\w+);", exports, flags=re.M))
    assert listed == header_functions()


def test_constants_match_the_header():
    constants = header_constants()
    assert constants, "no enum constants found in goal.h"
    for name, value in constants.items():
        assert getattr(_capi, name) == value, name


def test_every_status_has_an_exception_class():
    statuses = {v for k, v in header_constants().items() if k.startswith("GOAL_ERR_")}
    classes = {cls.status for cls in goal.GoalError.__subclasses__()}
    assert statuses == classes


def test_versions_agree():
    text = HEADER.read_text()
    header_version = re.search(r'#define GOAL_VERSION_STRING "([^"]+)"', text).group(1)
    pyproject = (REPO / "bindings" / "python" / "pyproject.toml").read_text()
    package_version = re.search(r'^version = "([^"]+)"', pyproject, flags=re.M).group(1)
    assert goal.library_version() == header_version == goal.__version__ == package_version
