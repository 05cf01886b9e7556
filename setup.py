"""meshview's wheel carries its browser app: building the package builds frontend/ with npm and
packs frontend/dist as meshview/ui, where the settings look first. Project metadata is in
pyproject.toml; this file only adds that build step.

MESHVIEW_PREBUILT_FRONTEND=DIR packs an already-built frontend (DIR holds index.html) instead of
running npm, as the Dockerfile does with the build of its frontend stage.
"""

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

FRONTEND = Path(__file__).resolve().parent / "frontend"
PACKED_AS = Path("meshview", "ui")


def built_frontend() -> Path:
    """Return the folder of the built browser app, building it first unless it was given."""
    given = os.environ.get("MESHVIEW_PREBUILT_FRONTEND", "").strip()
    dist = Path(given).resolve() if given else FRONTEND / "dist"
    if not given:
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=FRONTEND, check=True)
        subprocess.run(["npm", "run", "build"], cwd=FRONTEND, check=True)
    if not (dist / "index.html").is_file():
        raise SystemExit(f"meshview's browser app is not built: {dist / 'index.html'} is missing")
    return dist


class BuildPyWithFrontend(build_py):
    """build_py, then the built frontend copied into the package. An editable install skips it:
    a checkout serves frontend/dist, which `make run` keeps built."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        target = Path(self.build_lib) / PACKED_AS
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(built_frontend(), target)


setup(cmdclass={"build_py": BuildPyWithFrontend})
