"""The browser app's entry page: its routes, and the app's own 404 page for unknown addresses."""

import gzip
from pathlib import Path

import pytest
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db


@pytest.fixture
def built_app(tmp_path: Path):
    (tmp_path / "index.html").write_text('<!doctype html><div id="app"></div>')
    with override_settings(MESHVIEW_FRONTEND_DIR=tmp_path, MESHVIEW_ANONYMOUS_ACCESS=True):
        yield


APP_ROUTES = ["/", "/graph", "/traces", "/traces/abc123", "/traces/compare", "/alerts", "/dependencies"]


@pytest.mark.parametrize("path", APP_ROUTES)
def test_the_app_routes_serve_the_app(client: Client, built_app: None, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert b'<div id="app">' in b"".join(response.streaming_content)


@pytest.mark.parametrize("path", ["/nope", "/graph/extra/deep", "/no/such/page?x=1"])
def test_an_unknown_address_gets_the_app_and_its_404_page(client: Client, built_app: None, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert b'<div id="app">' in b"".join(response.streaming_content)


@pytest.mark.parametrize("path", ["/api/v1/nope", "/jaeger/api/nope/x", "/kiali/api/nope", "/static/missing.js"])
def test_an_unknown_api_address_stays_a_plain_404(client: Client, built_app: None, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert b'<div id="app">' not in response.content


@pytest.fixture
def built_assets(tmp_path: Path):
    """A build as Vite writes it: hashed scripts with their compressed copies, and a file whose
    name carries no hash."""
    assets = tmp_path / "assets"
    assets.mkdir()
    script = b"export const graph = 'cytoscape';\n" * 100
    (assets / "cytoscape-DMlFyV_q.js").write_bytes(script)
    (assets / "cytoscape-DMlFyV_q.js.gz").write_bytes(gzip.compress(script))
    (assets / "notes.js").write_bytes(script)
    (tmp_path / "index.html").write_text('<!doctype html><div id="app"></div>')
    with override_settings(STATICFILES_DIRS=[tmp_path], MESHVIEW_FRONTEND_DIR=tmp_path):
        yield


def test_hashed_assets_are_cached_for_good_and_sent_compressed(built_assets: None) -> None:
    response = Client().get("/static/assets/cytoscape-DMlFyV_q.js", HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert response.status_code == 200
    assert "immutable" in response["Cache-Control"]
    assert response["Content-Encoding"] == "gzip"
    assert response["Vary"] == "Accept-Encoding"
    body = gzip.decompress(b"".join(response.streaming_content))
    assert body.startswith(b"export const graph")

    plain = Client().get("/static/assets/cytoscape-DMlFyV_q.js")
    assert "Content-Encoding" not in plain
    assert b"".join(plain.streaming_content).startswith(b"export const graph")


def test_an_asset_without_a_hash_in_its_name_is_revalidated(built_assets: None) -> None:
    response = Client().get("/static/assets/notes.js")
    assert response.status_code == 200
    assert "immutable" not in response["Cache-Control"]
