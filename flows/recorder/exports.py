"""Exports of a run: its hops as JSON Lines, streamed page by page, never loaded whole.

Every line is one hop exactly as a trace shows it (docs/contracts.md's hop, plus its
``detail``), in ``seq`` order. The download view and ``manage.py exportrun`` both read
through ``hop_pages``: keyset pages on the (run, seq) unique index, so memory stays
bounded by one page however many hops a run has.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import orjson
from asgiref.sync import sync_to_async
from django.http import Http404, HttpRequest, StreamingHttpResponse
from django.views.decorators.http import require_GET

from flows import selectors
from flows.live import frames
from flows.models import Hop, Run

PAGE = 2000  # hops per query


def hop_page(run_id: int, after_seq: int) -> tuple[bytes, int]:
    """JSON Lines of up to ``PAGE`` hops after ``after_seq``, and the last seq in them."""
    rows = list(Hop.objects.filter(run_id=run_id, seq__gt=after_seq).order_by("seq")[:PAGE])
    if not rows:
        return b"", after_seq
    body = b"".join(orjson.dumps(frames.traced_hop(row)) + b"\n" for row in rows)
    return body, rows[-1].seq


def hop_pages(run_id: int) -> Iterator[bytes]:
    """The run's hops as JSON Lines, one chunk per page."""
    after = 0
    while True:
        body, after = hop_page(run_id, after)
        if not body:
            return
        yield body


async def _hop_pages_async(run_id: int) -> AsyncIterator[bytes]:
    # Under ASGI a synchronous iterator would be read whole into memory before sending
    # (Django's StreamingHttpResponse does that), so each page is a query off the loop.
    read = sync_to_async(hop_page)
    after = 0
    while True:
        body, after = await read(run_id, after)
        if not body:
            return
        yield body


def export_filename(run: Run) -> str:
    return f"{run.topology.slug}-run-{run.pk}-hops.jsonl"


@require_GET
def run_hops_jsonl(request: HttpRequest, slug: str, run_id: int) -> StreamingHttpResponse:
    """Download a run's hops (anyone who may see the topology may see its runs)."""
    topology = selectors.visible_topology(slug, request.user)
    run = (
        Run.objects.select_related("topology").filter(pk=run_id, topology=topology).first()
        if topology is not None
        else None
    )
    if run is None:
        raise Http404("No such run")
    response = StreamingHttpResponse(
        _hop_pages_async(run.pk), content_type="application/x-ndjson; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{export_filename(run)}"'
    return response
