"""Upgrading sums the spans already stored into trace summaries."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from meshview.core.access import EVERYTHING, NamespaceAccess
from meshview.traces.actions import store_spans
from meshview.traces.decode import decode_otlp_protobuf
from meshview.traces.queries import summaries
from meshview.traces.visibility import HIDDEN_SPAN_NAME
from tests.traces.test_store_and_query import export, span, tr


@pytest.mark.django_db(transaction=True)
def test_spans_stored_before_summaries_were_kept_are_summed_by_the_upgrade() -> None:
    error = tr.Status(code=2, message="boom")
    exports = [
        export("cart", [span(40, 2, "SELECT cart", parent=1, start_ms=5), span(40, 3, "GET /price", parent=2,
                                                                              start_ms=6, status=error)],
               resource={"k8s.namespace.name": "shop"}),
        export("vault", [span(40, 4, "read secret", parent=8, start_ms=7, status=error),
                         span(40, 5, "GET /token", start_ms=2)], resource={"k8s.namespace.name": "secrets"}),
        export("frontend", [span(40, 1, "GET /checkout", start_ms=3, dur_ms=40), span(41, 1, "GET /")],
               resource={"k8s.namespace.name": "shop"}),
    ]
    for body in exports:
        store_spans(decode_otlp_protobuf(body))
    traces = [f"{40:032x}", f"{41:032x}"]
    callers = [EVERYTHING, NamespaceAccess(frozenset({"shop"}))]
    kept = [summaries(traces, access=access) for access in callers]
    assert [(s["spanCount"], s["errorSpanCount"], s["orphanSpanCount"], s["rootOperationName"]) for s in kept[0]] == [
        (5, 2, 1, "GET /token"), (1, 0, 0, "GET /")
    ]
    assert (kept[1][0]["errorSpanCount"], kept[1][0]["rootOperationName"]) == (1, HIDDEN_SPAN_NAME)

    executor = MigrationExecutor(connection)
    executor.migrate([("traces", "0003_span_dedupe_and_pairing_store")])
    assert "traces_trace" not in connection.introspection.table_names()
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert [summaries(traces, access=access) for access in callers] == kept
