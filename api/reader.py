"""The read model of the production routes: point reads, ranges and pages over the materialized documents.

One `ProductionReader` per worker owns the read strategies and the rendered cache; the route module only
parses, calls it and replies. Strategies:
- point read: the stored bytes of the day document as they are (with their gzip form where the store keeps
  one), never parsed;
- one region, any granularity: the range's content hashes first (no bodies), then pre-serialized items of
  each document from the cache, joined as bytes into the page (nothing parsed or serialized but the page's
  small head); documents are read and rendered only when one is missing from it;
- several regions: the month documents give each day's interval count, so only the regions on the requested
  page have their day documents read (the plain read of every row when those disagree);
- granularity=day: the days of the month documents, clipped to the range.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any
from urllib.parse import urlencode

from api import caching
from api.http import ApiError, ParameterError, dumps
from api.params import (
    MAX_DAY_RANGE_DAYS,
    MAX_INTERVAL_RANGE_DAYS,
    REGION_CODES,
    RangeQuery,
    check_span,
    require_region,
)
from api.rendered import (
    RenderedItems,
    RenderedRun,
    RunWindow,
    chunks_of,
    gzipped,
    joined,
    page_of,
    whole,
)
from domain.items import day_item, interval_item, rendered_items
from domain.models import Units
from domain.naming import day_doc_id
from domain.ports import Document, DocumentReads, RenderedDocument, StoredItems

_INTERVAL_FIELD = {"30min": "intervals", "hour": "hourly"}
_UNITS = Units().model_dump()
Row = tuple[Document, dict[str, Any]]
PageUrl = Callable[[str], str]  # the page's URL from its canonical query string


def canonical_params(query: RangeQuery, offset: int) -> dict[str, str]:
    params = {
        "region_code": query.region_code,
        "start_date": query.start_date.isoformat(),
        "end_date": query.end_date.isoformat(),
        "source_type": query.source_type,
        "granularity": query.granularity,
        "limit": str(query.limit),
        "offset": str(offset),
    }
    return {k: v for k, v in params.items() if v is not None}


def canonical_query(query: RangeQuery, offset: int) -> str:
    return urlencode(canonical_params(query, offset))


def check_range(query: RangeQuery) -> None:
    if query.granularity == "day":
        check_span(query.start_date, query.end_date, MAX_DAY_RANGE_DAYS, "with granularity=day")
    else:
        check_span(
            query.start_date,
            query.end_date,
            MAX_INTERVAL_RANGE_DAYS,
            f"with granularity={query.granularity} (use granularity=day for up to {MAX_DAY_RANGE_DAYS} days)",
        )


async def _all_rows(documents: DocumentReads, query: RangeQuery, codes: list[str]) -> tuple[list[Row], list[str]]:
    """Every (document, interval or day) of the range, region by region: the straightforward read."""
    start, end = query.start_date.isoformat(), query.end_date.isoformat()
    rows: list[Row] = []
    hashes: list[str] = []
    for code in codes:
        if query.granularity == "day":
            for doc in await documents.query_range(code, "month", start[:7], end[:7]):
                hashes.append(doc.get("content_hash", ""))
                rows.extend((doc, d) for d in doc.get("days", []) if start <= d["date"] <= end)
        else:
            field = _INTERVAL_FIELD[query.granularity]
            for doc in await documents.query_range(code, "day", start, end):
                hashes.append(doc.get("content_hash", ""))
                rows.extend((doc, iv) for iv in doc.get(field, []))
    return rows, hashes


async def _planned_page(
    documents: DocumentReads, query: RangeQuery, codes: list[str]
) -> tuple[list[Row], int, list[str]] | None:
    """Intervals of several regions without reading every region's day documents: the month documents give
    each day's interval count, so only the regions on the requested page have their day documents read. None
    when those disagree with the month documents (a materialization in progress): the caller reads everything."""
    start, end = query.start_date.isoformat(), query.end_date.isoformat()
    field = _INTERVAL_FIELD[query.granularity]
    per_day = (lambda n: n) if query.granularity == "30min" else (lambda n: n // 2)
    hashes: list[str] = []
    plan: list[tuple[str, list[tuple[str, int]]]] = []
    for code in codes:
        days: list[tuple[str, int]] = []
        for month in await documents.query_range(code, "month", start[:7], end[:7]):
            hashes.append(month.get("content_hash", ""))
            days += [
                (d["date"], per_day(d["interval_count"])) for d in month.get("days", []) if start <= d["date"] <= end
            ]
        plan.append((code, days))
    total = sum(n for _, days in plan for _, n in days)
    first, stop = query.offset, query.offset + query.limit
    rows: list[Row] = []
    position = 0
    for code, days in plan:
        region_total = sum(n for _, n in days)
        if not days or position + region_total <= first or position >= stop:
            position += region_total
            continue
        # The whole range of a region on the page, so that a day its month document misses is noticed.
        docs = await documents.query_range(code, "day", start, end)
        if [(d["date"], len(d.get(field, []))) for d in docs] != days:
            return None
        hashes += [d.get("content_hash", "") for d in docs]
        region_rows = [(doc, iv) for doc in docs for iv in doc[field]]
        rows += region_rows[max(first - position, 0) : max(stop - position, 0)]
        position += region_total
    return rows, total, hashes


def _space(field: str, source_type: str | None) -> str:
    """The rendered cache's space of a document's items: the field and source type they show (enums)."""
    return f"{field}|{source_type or ''}"


_HASH = itemgetter(1)


async def _region_runs(
    documents: DocumentReads, query: RangeQuery, code: str, rendered: RenderedItems
) -> tuple[list[RenderedRun], list[RunWindow] | None, list[str]]:
    """Every item of one region's range, pre-serialized: the runs, their windows of the range (None: every
    run whole) and the documents' hashes. The store gives the range's current content hashes (no bodies);
    documents are read and rendered only when one of them is not cached. Day documents for interval
    granularities; for granularity=day, month documents rendered whole (every day, with its date) and
    windowed to the range, so the cache key never holds the request's own dates."""
    start, end = query.start_date.isoformat(), query.end_date.isoformat()
    by_day = query.granularity == "day"
    doc_type, first, last = ("month", start[:7], end[:7]) if by_day else ("day", start, end)
    field = "days" if by_day else _INTERVAL_FIELD[query.granularity]
    source_type = query.source_type
    space = _space(field, source_type)

    def put(doc: Document, content_hash: str) -> RenderedRun:
        items, dates = rendered_items(doc, field, source_type)
        if not content_hash:  # nothing to key it by: rendered for this read alone
            return RenderedRun.of(items, dates)
        return rendered.put(space, content_hash, items, dates)

    pairs = await documents.range_hashes(code, doc_type, first, last)
    hashes: list[str] = list(map(_HASH, pairs))
    runs: list[Any] = rendered.get_many(space, hashes)
    if "" in hashes:  # a document without a hash is never served from the cache
        runs = [run if h else None for run, h in zip(runs, hashes, strict=True)]
    if None in runs and source_type is None:  # the items the store rendered when it wrote the documents
        stored = await documents.range_items(code, doc_type, first, last, field)
        runs = [
            run if run is not None else _stored_run(rendered, space, stored, pair)
            for run, pair in zip(runs, pairs, strict=True)
        ]
    if None in runs:  # (runs compare by identity: this is a scan in C)
        runs, hashes = await _render_missing(documents, code, (doc_type, first, last), put)
    if by_day:
        return runs, [run.window(start, end) for run in runs], hashes
    return runs, None, hashes


def _stored_run(
    rendered: RenderedItems, space: str, stored: dict[str, StoredItems], pair: tuple[str, str]
) -> RenderedRun | None:
    """The run of a document's stored items, kept by its content hash; None when the store has none of this
    version (a document written before items were stored, or rewritten since)."""
    doc_id, content_hash = pair
    items = stored.get(doc_id)
    if items is None or not content_hash or items.content_hash != content_hash:
        return None
    return rendered.keep(space, content_hash, RenderedRun.stored(items.blob, items.starts, items.dates))


async def _render_missing(
    documents: DocumentReads, code: str, span: tuple[str, str, str], put: Callable[[Document, str], RenderedRun]
) -> tuple[list[RenderedRun], list[str]]:
    """The range's documents read in one query and rendered (those the cache holds too: their hashes may be
    newer than the list's); the runs and their hashes."""
    docs = await documents.query_range(code, *span)
    hashes = [d.get("content_hash", "") for d in docs]
    return [put(d, h) for d, h in zip(docs, hashes, strict=True)], hashes


def _page_head(
    query: RangeQuery, count: int, total: int, page_url: PageUrl, self_query: str | None = None
) -> dict[str, Any]:
    """The page without its items (which come last); `self_query` is its canonical query when known."""
    if self_query is None:
        self_query = canonical_query(query, query.offset)
    next_offset = query.offset + query.limit
    next_url = page_url(canonical_query(query, next_offset)) if next_offset < total else None
    return {
        "granularity": query.granularity,
        "start_date": query.start_date.isoformat(),
        "end_date": query.end_date.isoformat(),
        "region_code": query.region_code,
        "source_type": query.source_type,
        "units": _UNITS,
        "limit": query.limit,
        "offset": query.offset,
        "count": count,
        "total": total,
        "next": next_url,
        "links": {"self": page_url(self_query), "next": next_url},
    }


async def production_page(
    documents: DocumentReads, query: RangeQuery, page_url: PageUrl
) -> tuple[dict[str, Any], list[str]]:
    """One page of items, region by region in INSEE order then by time, built from the documents; also the
    content hashes it used. `page_url` takes a canonical query string."""
    require_region(query.region_code)
    check_range(query)
    codes = [query.region_code] if query.region_code else REGION_CODES
    planned = await _planned_page(documents, query, codes) if len(codes) > 1 and query.granularity != "day" else None
    if planned is not None:
        page, total, hashes = planned
    else:
        rows, hashes = await _all_rows(documents, query, codes)
        total = len(rows)
        page = rows[query.offset : query.offset + query.limit]
    build = day_item if query.granularity == "day" else interval_item
    items = [build(doc, element, query.source_type) for doc, element in page]
    return {**_page_head(query, len(items), total, page_url), "items": items}, hashes


@dataclass(frozen=True, slots=True)
class RenderedPage:
    """A page's bytes, the content hashes it used, and how to make its gzip form (only when a client asks)."""

    body: bytes
    hashes: list[str]
    head: bytes
    parts: list[RunWindow]

    def gzipped(self) -> bytes:
        return gzipped(self.head, self.parts, _PAGE_TAIL, self.body)


_PAGE_TAIL = b"]}"


async def rendered_page(
    documents: DocumentReads,
    query: RangeQuery,
    page_url: PageUrl,
    rendered: RenderedItems,
    self_query: str | None = None,
) -> RenderedPage:
    """`production_page` of one region as the bytes a client gets, from pre-serialized items: the head's JSON
    and the cached runs' bytes (sliced where the page or the dates cut a run) joined once."""
    assert query.region_code is not None
    require_region(query.region_code)
    check_range(query)
    runs, windows, hashes = await _region_runs(documents, query, query.region_code, rendered)
    parts, count, total = page_of(whole(runs) if windows is None else windows, query.offset, query.limit)
    # orjson writes keys in order and no spaces: the head's text without its closing brace, then the items.
    head = dumps(_page_head(query, count, total, page_url, self_query))[:-1] + b',"items":['
    return RenderedPage(joined(head, chunks_of(parts), _PAGE_TAIL), hashes, head, parts)


def _no_data(region_code: str, day: str) -> ApiError:
    return ApiError(
        404,
        f"No data materialized for region {region_code} on {day}.",
        errors=[ParameterError("date", "no data for this day")],
        slug="no-data",
    )


async def rendered_day(documents: DocumentReads, region_code: str, day: str) -> RenderedDocument:
    """One point read as the bytes a client gets: stored as they are where the store keeps them (no parsing);
    404 for an unknown region or a day with no materialized data."""
    require_region(region_code)
    found = await documents.get_rendered(region_code, day_doc_id(region_code, day))
    if found is None:
        raise _no_data(region_code, day)
    return found


class ProductionReader:
    """The production routes' reads over a document store, with the worker's cache of rendered items."""

    def __init__(self, rendered: RenderedItems | None = None) -> None:
        self.rendered = rendered if rendered is not None else RenderedItems()

    async def day(self, documents: DocumentReads, region_code: str, day: str) -> RenderedDocument:
        return await rendered_day(documents, region_code, day)

    async def page(
        self, documents: DocumentReads, query: RangeQuery, root_url: str
    ) -> tuple[bytes, str, Callable[[], bytes] | None]:
        """One page of the range as JSON bytes, its ETag (the documents' hashes and the canonical query), and
        what makes its gzip form from the runs' deflate segments (None: compress the body)."""

        def page_url(query_string: str) -> str:
            return f"{root_url}?{query_string}"

        etag_variant = canonical_query(query, query.offset)
        if query.region_code is not None:
            page = await rendered_page(documents, query, page_url, self.rendered, etag_variant)
            return page.body, caching.combined_etag(page.hashes, etag_variant), page.gzipped
        body, hashes = await production_page(documents, query, page_url)
        return dumps(body), caching.combined_etag(hashes, etag_variant), None
