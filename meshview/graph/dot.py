"""Graphviz DOT export of Kiali's graph JSON, for ``dot -Tsvg`` and for reading in reviews.

It reads the JSON rather than the networkx graph so that what it draws is exactly what the
browser gets: the same rates, error shares, boxes and health.
"""

from collections.abc import Mapping
from typing import Any

_HEALTH_COLORS = {"Failure": "red3", "Degraded": "orange"}
_RATE_UNITS = {"http": "rps", "grpc": "rps", "tcp": "B/s"}


def quote(text: str) -> str:
    """Return ``text`` as a DOT double-quoted string (backslashes, quotes, newlines escaped)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def node_label(data: Mapping[str, Any]) -> str:
    """Return how a node is named in the drawing: ``namespace/workload``, ``namespace/app version``,
    ``namespace/service``, ``unknown``, or the box's cluster, namespace or app; an inaccessible
    node (which keeps its name, as in Kiali) is marked so."""
    node_type = data["nodeType"]
    if node_type == "unknown":
        return "unknown"
    if node_type == "box":
        return str(data[data["isBox"]])
    name = {"workload": data.get("workload"), "service": data.get("service")}.get(node_type)
    if name is None:
        name = " ".join(filter(None, (data.get("app"), data.get("version"))))
    label = f"{data['namespace']}/{name}"
    return f"{label} (inaccessible)" if data.get("isInaccessible") else label


def edge_label(data: Mapping[str, Any]) -> str:
    """Return an edge's label: its rate with unit and, when there are errors, the error share."""
    traffic = data["traffic"]
    protocol, rates = traffic["protocol"], traffic["rates"]
    if protocol not in rates:
        return "idle"
    label = f"{rates[protocol]} {_RATE_UNITS[protocol]}"
    error = rates.get(f"{protocol}PercentErr")
    return f"{label}\n{error}% err" if error else label


def to_dot(kiali: Mapping[str, Any]) -> str:
    """Return the Kiali graph JSON (as ``to_kiali_json`` returns it) as a Graphviz digraph:
    boxes as nested clusters, the unknown node highlighted, edges coloured by health."""
    nodes = [n["data"] for n in kiali["elements"]["nodes"]]
    children: dict[str | None, list[Mapping[str, Any]]] = {}
    for data in nodes:
        children.setdefault(data.get("parent"), []).append(data)

    lines = [f"digraph {quote('meshview ' + kiali['graphType'])} {{", "  rankdir=LR;",
             "  node [shape=box, style=rounded, fontname=Helvetica];", "  edge [fontname=Helvetica];"]

    def emit(parent: str | None, indent: str) -> None:
        for data in children.get(parent, ()):
            if data["nodeType"] == "box":
                lines.append(f"{indent}subgraph {quote('cluster_' + data['id'])} {{")
                lines.append(f"{indent}  label={quote(node_label(data))};")
                emit(data["id"], indent + "  ")
                lines.append(f"{indent}}}")
                continue
            attrs = [f"label={quote(node_label(data))}"]
            if data["nodeType"] == "unknown":
                attrs.append('style="rounded,filled", fillcolor=lightcoral')
            elif data["nodeType"] == "service":
                attrs.append("shape=triangle")
            if data.get("isOutside") or data.get("isInaccessible"):
                attrs.append("color=gray50")
            lines.append(f"{indent}{quote(data['id'])} [{', '.join(attrs)}];")

    emit(None, "  ")
    for edge in kiali["elements"]["edges"]:
        data = edge["data"]
        attrs = [f"label={quote(edge_label(data))}"]
        color = _HEALTH_COLORS.get(data.get("healthStatus", ""))
        if color:
            attrs.append(f"color={color}")
        if data["traffic"]["protocol"] == "tcp":
            attrs.append("style=dashed")
        lines.append(f"  {quote(data['source'])} -> {quote(data['target'])} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
