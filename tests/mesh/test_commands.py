"""parse_envoy and ingest_envoy, run as a user runs them."""

import json
import os
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from meshview.mesh.models import TailOffset, TrafficRollup
from tests import meshsim
from tests.conftest import ROOT, database_url
from tests.meshsim import PRODUCTPAGE, SERVICES, Call

REPORTER = ["--namespace", "bookinfo", "--pod", "productpage-v1-5f7d8c9b6d-x2k4q"]


def lines(n: int) -> list[str]:
    return [meshsim.client_line(Call(PRODUCTPAGE, SERVICES["details"], meshsim.DETAILS)) for _ in range(n)]


def test_parse_envoy_prints_one_object_per_line_in_order(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text("2026-11-26T12:00:00.123456789Z " + lines(1)[0] + "\nnonsense\n" + lines(1)[0] + "\n")
    out = StringIO()
    call_command("parse_envoy", str(log), stdout=out)
    objects = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(objects) == 3
    assert objects[0]["upstream_cluster"] == "outbound|9080||details.bookinfo.svc.cluster.local"
    assert objects[0]["direction"] == "outbound"
    assert objects[1] == {"line": 2, "error": objects[1]["error"]} and objects[1]["error"]
    assert objects[2]["response_code"] == 200


def test_parse_envoy_reads_stdin_in_a_real_process() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "parse_envoy", "--format", "istio-1.24", "-"],
        cwd=ROOT,
        input="\n".join(lines(3)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert [json.loads(x)["authority"] for x in result.stdout.splitlines()] == ["details:9080"] * 3


@pytest.mark.django_db
def test_ingest_envoy_reads_files_like_the_endpoint(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text("\n".join([*lines(7), "garbage"]) + "\n")
    out, err = StringIO(), StringIO()
    call_command("ingest_envoy", str(log), *REPORTER, stdout=out, stderr=err)
    assert "8 lines" in out.getvalue() and "7 accepted, 1 rejected" in out.getvalue()
    assert f"{log}:8:" in err.getvalue()
    assert TrafficRollup.objects.get().requests == 7


@pytest.mark.django_db(transaction=True)
def test_follow_survives_rename_and_truncate_and_resumes_after_restart(tmp_path: Path) -> None:
    log = tmp_path / "envoy.log"
    log.write_text("\n".join(lines(5)) + "\n")
    env = {**os.environ, "DATABASE_URL": database_url(), "MESHVIEW_DATA_DIR": str(tmp_path / "data")}
    command = [sys.executable, "manage.py", "ingest_envoy", "--follow", str(log), *REPORTER]

    def total() -> int:
        return sum(TrafficRollup.objects.values_list("requests", flat=True))

    def wait_for(count: int) -> None:
        deadline = time.monotonic() + 30
        while total() != count and time.monotonic() < deadline:
            time.sleep(0.2)
        assert total() == count

    follower = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(5)
        with log.open("a") as f:
            f.write("\n".join(lines(3)) + "\n" + lines(1)[0][:40])  # a partial line stays unread
        wait_for(8)
        with log.open("a") as f:
            f.write(lines(1)[0][40:] + "\n")
        wait_for(9)
        log.rename(tmp_path / "envoy.log.1")  # logrotate's rename
        log.write_text("\n".join(lines(2)) + "\n")
        wait_for(11)
        log.write_text("")  # copytruncate
        time.sleep(1)
        log.write_text("\n".join(lines(4)) + "\n")
        wait_for(15)
    finally:
        follower.terminate()
        follower.wait(timeout=20)
    assert TailOffset.objects.get(path=str(log)).offset == log.stat().st_size
    with log.open("a") as f:
        f.write("\n".join(lines(6)) + "\n")
    follower = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(21)  # only the six new lines: nothing repeated, nothing lost
        time.sleep(1)
        assert total() == 21
    finally:
        follower.terminate()
        follower.wait(timeout=20)
