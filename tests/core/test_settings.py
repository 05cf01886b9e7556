"""A wrong setting stops start-up with a message naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def start(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "MESHVIEW_DATA_DIR": str(tmp_path), **env}
    return subprocess.run(
        [sys.executable, "manage.py", "serve", "--port", "0"],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "mysql://db/meshview"),
        ("MESHVIEW_INGRESS_GATEWAYS", "istio-ingressgateway"),
        ("DATABASE_URL", "postgresql://127.0.0.1:1/meshview"),
        ("REDIS_URL", "http://127.0.0.1:6379"),
        ("REDIS_URL", "redis://127.0.0.1:1/0"),
        ("MESHVIEW_PROMETHEUS_URL", "localhost:9090"),
        ("MESHVIEW_SECRET_KEY", "short"),
        ("MESHVIEW_MAX_BODY_BYTES", "lots"),
    ],
)
def test_a_wrong_value_stops_start_up_naming_the_variable(tmp_path: Path, variable: str, value: str) -> None:
    result = start(tmp_path, **{variable: value})
    assert result.returncode != 0
    assert variable in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unwritable_data_dir_is_named(tmp_path: Path) -> None:
    result = start(tmp_path, MESHVIEW_DATA_DIR="/proc/meshview")
    assert result.returncode != 0
    assert "MESHVIEW_DATA_DIR" in result.stderr
