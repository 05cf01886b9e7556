"""The smaller safety items: websocket frames meshview does not speak, private data files,
HTTPS settings, login throttling."""

import asyncio
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client, override_settings

ROOT = Path(__file__).resolve().parents[2]
HEADERS = [(b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1")]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("frame", "code"), [({"bytes_data": b"\x00\xff"}, 1003), ({"text_data": "{not json"}, 1007)])
@pytest.mark.parametrize("path", ["/ws/traces/", "/ws/graph/?sources=accesslogs"])
def test_frames_a_socket_does_not_speak_close_it_with_a_code(path: str, frame: dict, code: int, caplog) -> None:
    from meshview.asgi import application

    async def exchange() -> dict:
        socket = WebsocketCommunicator(application, path, headers=HEADERS)
        connected, _ = await socket.connect()
        assert connected
        await socket.receive_from(timeout=10)  # the snapshot
        await socket.send_to(**frame)
        closed = await socket.receive_output(timeout=5)
        await socket.wait()
        return closed

    with override_settings(MESHVIEW_ANONYMOUS_ACCESS=True):
        assert asyncio.run(exchange()) == {"type": "websocket.close", "code": code}
    assert not [r for r in caplog.records if r.exc_info]


def test_the_data_directory_and_the_sqlite_database_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    script = "from django.db import connection; connection.ensure_connection(); print(connection.settings_dict['NAME'])"
    done = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {script}"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "MESHVIEW_DATA_DIR": str(data), "DJANGO_SETTINGS_MODULE": "meshview.settings",
             "DATABASE_URL": ""},
    )
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    database = Path(done.stdout.strip())
    assert database.parent == data
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    assert stat.S_IMODE((data / "secret_key").stat().st_mode) == 0o600


def _settings_under(tmp_path: Path, **env: str) -> str:
    script = (
        "import django; django.setup(); from django.conf import settings as s; from django.test import Client; "
        "r = Client().get('/healthz', HTTP_X_FORWARDED_PROTO='https'); "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, r.headers.get('Strict-Transport-Security'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "MESHVIEW_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "meshview.settings",
             "MESHVIEW_ALLOWED_HOSTS": "testserver", **env},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_https_turns_on_secure_cookies_and_hsts(tmp_path: Path) -> None:
    assert _settings_under(tmp_path) == "False False None"
    assert _settings_under(tmp_path, MESHVIEW_HTTPS="1") == "True True max-age=31536000"
    assert _settings_under(tmp_path, MESHVIEW_HTTPS="1", MESHVIEW_HSTS_SECONDS="600") == "True True max-age=600"


@pytest.mark.django_db
def test_logins_are_throttled_after_five_failures(client: Client) -> None:
    cache.clear()
    User.objects.create_user("ana", password="right-pw-123", is_staff=True)
    for _ in range(5):
        response = client.post("/accounts/login/", {"username": "ana", "password": "wrong"})
        assert response.status_code == 200 and "_auth_user_id" not in client.session
    client.post("/accounts/login/", {"username": "ana", "password": "right-pw-123"})
    assert "_auth_user_id" not in client.session  # the right password too, for now
    client.post("/admin/login/", {"username": "ana", "password": "right-pw-123"})
    assert "_auth_user_id" not in client.session
    other = Client(REMOTE_ADDR="192.0.2.7")  # another address is not held back
    other.post("/accounts/login/", {"username": "ana", "password": "right-pw-123"})
    assert "_auth_user_id" in other.session
    cache.clear()
    client.post("/accounts/login/", {"username": "ana", "password": "right-pw-123"})
    assert "_auth_user_id" in client.session
