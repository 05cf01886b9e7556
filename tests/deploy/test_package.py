"""meshview as an operator installs it: the wheel built from this checkout, its pinned
dependencies from requirements.lock in a fresh virtual environment outside the checkout, and
`meshview serve` started from another directory serving the whole app, the browser UI included."""

import glob
import os
import subprocess
import sys
import tarfile
import tomllib
import urllib.request
import zipfile
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import CHROMIUM_ARGS, ROOT, free_port, wait_for_http

# Nothing of the checkout or of the test run may leak into the installed meshview.
LEAKY = ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}"


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in LEAKY and not k.startswith("MESHVIEW_")}
    return {**env, **extra}


@pytest.mark.browser
def test_the_wheel_installs_outside_the_checkout_and_serves_its_ui(
    tmp_path: Path, chromium_path: str, output_dir: Path
) -> None:
    from playwright.sync_api import sync_playwright

    # The release build, the sdist and then the wheel from it, packing the frontend that this run
    # built already (without MESHVIEW_PREBUILT_FRONTEND the hook runs npm ci && npm run build).
    built = ROOT / "frontend" / "dist"
    _run(
        [sys.executable, "-m", "build", "--outdir", str(tmp_path / "dist"), str(ROOT)],
        cwd=tmp_path,
        env=_clean_env(MESHVIEW_PREBUILT_FRONTEND=str(built)),
    )
    (sdist,) = (tmp_path / "dist").glob("meshview-*.tar.gz")
    with tarfile.open(sdist) as archive:
        sources = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    # What a wheel built from the sdist alone needs to build the UI, and nothing built.
    assert {"setup.py", "frontend/package.json", "frontend/package-lock.json", "frontend/index.html"} <= sources
    assert any(name.startswith("frontend/src/") for name in sources)
    assert not any(name.startswith(("frontend/node_modules/", "frontend/dist/")) for name in sources)
    (wheel,) = (tmp_path / "dist").glob("meshview-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        packed = {name for name in archive.namelist() if name.startswith("meshview/ui/")}
    assert "meshview/ui/index.html" in packed
    assert any(name.startswith("meshview/ui/assets/") and name.endswith(".js") for name in packed)

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path, env=_clean_env())
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "--quiet"]
    lock = ["--no-compile", "--require-hashes", "-r", str(ROOT / "requirements.lock")]
    _run([*pip, "install", *lock], cwd=tmp_path, env=_clean_env())
    _run([*pip, "install", "--no-deps", str(wheel)], cwd=tmp_path, env=_clean_env())
    _run([*pip, "check"], cwd=tmp_path, env=_clean_env())  # the lock satisfies what the wheel declares
    (installed_ui,) = glob.glob(str(venv / "lib" / "python3*" / "site-packages" / "meshview" / "ui"))

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    port = free_port()
    server = subprocess.Popen(
        [str(venv / "bin" / "meshview"), "serve", "--port", str(port)],
        cwd=elsewhere,
        env=_clean_env(MESHVIEW_DATA_DIR=str(tmp_path / "data")),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/healthz", server)
        with urllib.request.urlopen(f"{url}/") as response:
            assert response.read() == (Path(installed_ui) / "index.html").read_bytes()

        failed: list[str] = []
        errors: list[str] = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
            page.goto(f"{url}/")
            page.get_by_test_id("nav-graph").wait_for()
            page.get_by_test_id("nav-traces").click()
            page.get_by_test_id("page-traces").wait_for()
            page.screenshot(path=output_dir / "installed-wheel.png", full_page=True)
            browser.close()
        assert errors == []
        assert failed == []
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert server.returncode == 0, output


def test_the_lock_pins_every_declared_dependency_within_its_range() -> None:
    """requirements.lock (`make requirements.lock`) is what the Dockerfile and the test above
    install: a dependency added to pyproject.toml without relocking fails here."""
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pinned: dict[str, list[str]] = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if "==" in line and not line.startswith((" ", "#")):
            requirement = Requirement(line.rstrip(" \\"))
            if requirement.marker is None or requirement.marker.evaluate({**default_environment()}):
                (version,) = (spec.version for spec in requirement.specifier)
                pinned.setdefault(canonicalize_name(requirement.name), []).append(version)
    for entry in declared:
        requirement = Requirement(entry)
        versions = pinned.get(canonicalize_name(requirement.name))
        assert versions, f"{requirement.name} is declared in pyproject.toml but not in requirements.lock"
        assert all(requirement.specifier.contains(v) for v in versions), f"{requirement.name}: {versions} vs {entry}"
