"""Running the `goal` command from tests: `python -m goal ARGS` with this tree's package and
library (as conftest sets them up), and checking how it ended."""

import os
import subprocess
import sys

from conftest import REPO


def goal_environment(extra=None) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "bindings" / "python"), env.get("PYTHONPATH")]))
    if "GOAL_LIBRARY" in os.environ:
        env["GOAL_LIBRARY"] = os.path.abspath(os.environ["GOAL_LIBRARY"])
    env.update(extra or {})
    return env


def run(*args, stdin: bytes = b"", env=None, cwd=None, timeout=300, wait=True):
    """The finished process; with wait=False, the running one (output discarded)."""
    command = [sys.executable, "-m", "goal", *map(str, args)]
    if not wait:
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env=goal_environment(env), cwd=cwd)
    return subprocess.run(command, input=stdin, capture_output=True, env=goal_environment(env), cwd=cwd,
                          timeout=timeout)


def succeeded(result):
    assert result.returncode == 0, result.stderr.decode()
    assert "Traceback" not in result.stderr.decode()
    return result


def failed(result, status=1) -> str:
    """The one-line error, after checking the status and that no traceback was printed."""
    stderr = result.stderr.decode()
    assert result.returncode == status, stderr
    assert "Traceback" not in stderr
    return stderr
