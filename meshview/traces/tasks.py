"""Celery tasks of the span store."""

from celery import shared_task

from meshview.traces import actions


@shared_task(name="meshview.traces.tasks.maintain_span_store", ignore_result=True)
def maintain_span_store() -> int:
    """Create the coming days' partitions and drop spans past MESHVIEW_TRACE_RETENTION."""
    actions.prepare_partitions()
    return actions.delete_expired_spans()


@shared_task(name="meshview.traces.tasks.settle_span_pairs", ignore_result=True)
def settle_span_pairs() -> int:
    """Pair or count the spans whose other half did not come within MESHVIEW_SPAN_PAIR_SECONDS."""
    return actions.settle_span_pairs()
