"""The domain packages depend downwards only (DESIGN.md): ingest never imports the graph."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "meshview"


def _imports(package: str) -> set[tuple[str, str]]:
    found = set()
    for path in (PACKAGE / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add((str(path.relative_to(PACKAGE)), node.module))
            elif isinstance(node, ast.Import):
                found |= {(str(path.relative_to(PACKAGE)), alias.name) for alias in node.names}
    return found


@pytest.mark.parametrize("package", ["envoy", "mesh", "traces"])
def test_ingest_packages_never_import_the_graph(package: str) -> None:
    offending = sorted((path, module) for path, module in _imports(package)
                       if module == "meshview.graph" or module.startswith("meshview.graph."))
    assert offending == []


def test_the_mesh_rules_are_written_once() -> None:
    """The literals of the mesh rules appear only in their home modules under mesh/."""
    homes = {
        '"PassthroughCluster"': "mesh/clusters.py",
        '"InboundPassthroughCluster"': "mesh/clusters.py",
        "range(30000": "mesh/unknown.py",
        '"istio-ingressgateway"': "mesh/gateways.py",
        '"ingressgateway"': "mesh/gateways.py",
        '"kube-probe/"': "mesh/unknown.py",
        '"no-peer-identity"': "mesh/unknown.py",
    }
    for literal, home in homes.items():
        where = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                       if literal in p.read_text() and "migrations" not in p.parts)
        assert where == [home], literal
