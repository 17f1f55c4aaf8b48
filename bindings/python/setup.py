"""Copies the built libgoal.so and the default model (models/goal-tiny) into the package, so
`import goal` and `goal.Model()` work wherever it is installed.

The library is taken from GOAL_LIBRARY if set, else from the repository's release build
(`swift build -c release`). Without either the package installs without it and looks for the
library at import time (see goal/_loader.py).
"""

import os
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


def built_library():
    override = os.environ.get("GOAL_LIBRARY")
    candidates = [Path(override)] if override else []
    candidates.append(HERE.parent.parent / ".build" / "release" / "libgoal.so")
    return next((p for p in candidates if p.is_file()), None)


class BuildWithLibrary(build_py):
    def run(self):
        super().run()
        library = built_library()
        if library is not None:
            target = Path(self.build_lib) / "goal" / "libgoal.so"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(library, target)
        # The default model travels with the package, so goal.Model() works wherever it is installed.
        model = HERE.parent.parent / "models" / "goal-tiny"
        if model.is_dir():
            target = Path(self.build_lib) / "goal" / "models" / "goal-tiny"
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(model, target)


setup(cmdclass={"build_py": BuildWithLibrary})
