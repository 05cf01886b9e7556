"""The pairing store: spans become requests as they arrive, whatever the order of the halves.

`pair_new_spans` runs inside the transaction that stores an export's new spans. A span's
parent is looked for among the export's spans and in the span store (by `(trace_id, span_id)`);
children that arrived first wait in `SpanHalf` rows and are taken from there. What cannot be
decided yet waits (`SpanHalf`): a span whose parent has not arrived, and a caller span none of
whose children has shown that the call reached a traced workload. `settle` (beat) decides
what waited MESHVIEW_SPAN_PAIR_SECONDS; until then `waiting_callers` lets the graph show the
waiting callers as what they are so far. Whoever deletes a waiting row counts it, so two
processes never count one request twice. The rules are `meshview.traces.traffic`'s.

The store is bounded by MESHVIEW_SPAN_PAIR_MAX: past it, a caller is settled at once as a call
that reached no traced workload and a child without its parent is not kept; both are counted
in `meshview_span_pairing_dropped_total`.
"""

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence

from django.conf import settings
from django.db import connection

from meshview.core.bulk import append_rows
from meshview.core.metrics import PAIRING_DROPPED
from meshview.mesh import rollups
from meshview.traces.model import SPAN_KIND_SERVER, Resource, Span
from meshview.traces.models import Resource as ResourceRow
from meshview.traces.models import Span as SpanRow
from meshview.traces.models import SpanHalf
from meshview.traces.traffic import (
    CALLER_KINDS,
    Identity,
    SpanFacts,
    Tally,
    facts_of,
    identity_of,
    is_request,
    settles,
)

PARENT, CHILDREN = "parent", "children"  # what a waiting row waits for
_CHUNK = 500  # values per IN (...) list
_HALF_COLUMNS = ("trace_id", "span_id", "parent_span_id", "waiting", "end_ns", "facts", "received_at")
_PARENT_COLUMNS = ("trace_id", "span_id", "parent_span_id", "kind", "start_ns", "end_ns", "status_code",
                   "resource_key", "service_name", "attributes")

SpanId = tuple[str, str]  # (trace id, span id)


def _chunks(items: Sequence, size: int = _CHUNK) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _Identities:
    """Resource keys to workload identities, each worked out once."""

    def __init__(self, resources: Mapping[str, Resource]) -> None:
        self.cluster = settings.MESHVIEW_CLUSTER_NAME
        self.known = {key: identity_of(r.attributes, self.cluster) for key, r in resources.items()}

    def load(self, keys: set[str]) -> None:
        wanted = sorted(keys - self.known.keys())
        for chunk in _chunks(wanted):
            for key, attributes in ResourceRow.objects.filter(key__in=chunk).values_list("key", "attributes"):
                self.known[key] = identity_of(attributes, self.cluster)

    def __call__(self, key: str) -> Identity:
        found = self.known.get(key)
        if found is None:  # a resource row that is missing says as much as one without attributes
            found = self.known[key] = identity_of({}, self.cluster)
        return found


class _Linker:
    """Counts what a parent and child found each other say, and which callers they settle."""

    def __init__(self) -> None:
        self.tally = Tally()
        self.settled_callers: set[SpanId] = set()

    def link(self, parent: SpanFacts, child: SpanFacts) -> None:
        self.tally.dependency(parent, child)
        if is_request(parent, child):
            self.tally.pair(parent, child)
        if settles(parent, child):
            self.settled_callers.add((parent.trace_id, parent.span_id))


def _stored_spans(wanted: set[SpanId], identities: _Identities) -> dict[SpanId, SpanFacts]:
    """The spans `wanted` that are in the span store (the parents of later children)."""
    rows = []
    pairs = sorted(wanted)
    for chunk in _chunks(pairs):
        found = SpanRow.objects.filter(
            trace_id__in={t for t, _ in chunk}, span_id__in={s for _, s in chunk}
        ).values_list(*_PARENT_COLUMNS)
        rows += [row for row in found if (row[0], row[1]) in wanted]
    identities.load({row[7] for row in rows})
    stored: dict[SpanId, SpanFacts] = {}
    memo: dict[tuple, tuple] = {}
    for trace_id, span_id, parent, kind, start, end, status, resource, service, attributes in rows:
        span = Span(trace_id, span_id, parent, "", "", kind, start, end, status, "", attributes, [], [], resource,
                    service)
        stored[(trace_id, span_id)] = facts_of(span, attributes, identities(resource), memo)
    return stored


def _delete_returning(ids: Iterable[int]) -> set[int]:
    """Delete the waiting rows `ids`; return those this transaction deleted (its to count)."""
    won: set[int] = set()
    ordered = sorted(ids)
    with connection.cursor() as cursor:
        for chunk in _chunks(ordered):
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(f"DELETE FROM traces_span_half WHERE id IN ({marks}) RETURNING id", list(chunk))  # noqa: S608
            won |= {row[0] for row in cursor.fetchall()}
    return won


def _waiting(waiting: str, trace_ids: set[str], column: str, wanted: Mapping[SpanId, object]) -> dict[int, SpanFacts]:
    """Waiting rows of `waiting` kind whose (trace_id, `column`) is in `wanted`, by row id."""
    found: dict[int, SpanFacts] = {}
    for chunk in _chunks(sorted(trace_ids)):
        rows = SpanHalf.objects.filter(waiting=waiting, trace_id__in=chunk).values_list(
            "id", column, "trace_id", "facts"
        )
        for row_id, span_id, trace_id, facts in rows:
            if (trace_id, span_id) in wanted:
                found[row_id] = SpanFacts.from_json(facts)
    return found


def _release_callers(callers: set[SpanId]) -> None:
    """Callers stored earlier that a child has now settled wait no more."""
    if callers:
        rows = _waiting(CHILDREN, {t for t, _ in callers}, "span_id", dict.fromkeys(callers))
        _delete_returning(rows)


def _row(facts: SpanFacts, waiting: str, now: float) -> tuple:
    """A waiting row (values in _HALF_COLUMNS order)."""
    return (facts.trace_id, facts.span_id, facts.parent_span_id, waiting, facts.end_ns,
            json.dumps(facts.as_json()), now)


def _keep(rows: list[tuple], facts: list[SpanFacts], tally: Tally) -> None:
    """Store the waiting rows the cap leaves room for; settle the others at once."""
    if not rows:
        return
    room = max(0, settings.MESHVIEW_SPAN_PAIR_MAX - SpanHalf.objects.count())
    append_rows(SpanHalf._meta.db_table, _HALF_COLUMNS, rows[:room])
    for row, dropped in zip(rows[room:], facts[room:], strict=True):
        if row[3] == CHILDREN:
            tally.unreached(dropped)
    if len(rows) > room:
        PAIRING_DROPPED.inc(len(rows) - room)


def pair_new_spans(spans: Sequence[Span], resources: Mapping[str, Resource], now: float) -> list[SpanId]:
    """Turn newly stored `spans` (with their export's `resources`) into requests and dependency
    links in the rollups, and keep what waits for its other half; return the (trace id, parent
    span id) of each of `spans` whose parent is not stored. Runs inside the storing
    transaction. Raises django.db.DatabaseError when the store cannot be read or written."""
    identities = _Identities(resources)
    memo: dict[tuple, tuple] = {}
    new = [facts_of(s, s.attributes, identities(s.resource_key), memo) for s in spans]
    by_id = {(f.trace_id, f.span_id): f for f in new}
    wanted = {(f.trace_id, f.parent_span_id) for f in new if f.parent_span_id} - by_id.keys()
    parents = _stored_spans(wanted, identities) if wanted else {}
    orphans = _waiting(PARENT, {f.trace_id for f in new}, "parent_span_id", by_id)
    linker = _Linker()
    for child_id in _delete_returning(orphans):
        child = orphans[child_id]
        linker.link(by_id[(child.trace_id, child.parent_span_id)], child)
    waiting_rows, waiting_facts = [], []
    missing_parents: list[SpanId] = []
    for facts in new:
        if facts.parent_span_id:
            parent_id = (facts.trace_id, facts.parent_span_id)
            parent = by_id.get(parent_id) or parents.get(parent_id)
            if parent is not None:
                linker.link(parent, facts)
            else:
                waiting_rows.append(_row(facts, PARENT, now))
                waiting_facts.append(facts)
                missing_parents.append(parent_id)
        elif facts.kind == SPAN_KIND_SERVER:
            linker.tally.from_unknown(facts)
    for facts in new:
        if facts.kind in CALLER_KINDS and (facts.trace_id, facts.span_id) not in linker.settled_callers:
            waiting_rows.append(_row(facts, CHILDREN, now))
            waiting_facts.append(facts)
    _release_callers(linker.settled_callers - by_id.keys())
    _keep(waiting_rows, waiting_facts, linker.tally)
    _write(linker.tally)
    return missing_parents


def settle(now: float) -> int:
    """Decide the rows that waited MESHVIEW_SPAN_PAIR_SECONDS: a child whose parent has been
    stored since (by an export committed meanwhile) is paired, one still without is not
    counted; a caller no child settled is a call that reached no traced workload. Return how
    many rows were decided. Run by beat, in a transaction."""
    expired = list(
        SpanHalf.objects.filter(received_at__lte=now - settings.MESHVIEW_SPAN_PAIR_SECONDS).values_list(
            "id", "waiting", "facts"
        )
    )
    if not expired:
        return 0
    orphans = {row_id: SpanFacts.from_json(facts) for row_id, waiting, facts in expired if waiting == PARENT}
    callers = {row_id: SpanFacts.from_json(facts) for row_id, waiting, facts in expired if waiting == CHILDREN}
    identities = _Identities({})
    parents = _stored_spans({(f.trace_id, f.parent_span_id) for f in orphans.values()}, identities)
    won = _delete_returning(row_id for row_id, _, _ in expired)
    linker = _Linker()
    for row_id, child in orphans.items():
        parent = parents.get((child.trace_id, child.parent_span_id))
        if row_id in won and parent is not None:
            linker.link(parent, child)
    for row_id, caller in callers.items():
        if row_id in won and (caller.trace_id, caller.span_id) not in linker.settled_callers:
            linker.tally.unreached(caller)
    _release_callers(linker.settled_callers - {(c.trace_id, c.span_id) for c in callers.values()})
    _write(linker.tally)
    return len(won)


def _write(tally: Tally) -> None:
    rollups.write(rollups.SPANS, tally.requests)
    rollups.write(rollups.DEPENDENCIES, tally.dependencies)


def waiting_callers(since_ns: int, until_ns: int) -> Tally:
    """The callers that ended in [since_ns, until_ns) and still wait for a child, counted as
    calls that reached no traced workload: what their spans say so far."""
    tally = Tally()
    for facts in SpanHalf.objects.filter(waiting=CHILDREN, end_ns__gte=since_ns, end_ns__lt=until_ns).values_list(
        "facts", flat=True
    ):
        tally.unreached(SpanFacts.from_json(facts))
    return tally
