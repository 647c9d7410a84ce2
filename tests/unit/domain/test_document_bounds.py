"""Every document type the materialization writes has a stated maximum size, well under Cosmos DB's 2 MB item.

Issue 22 item 1 (bounded documents): an item over 2 MB is refused (413, not transient), so a document that grows
with time fails its write for good. Each type's maximum is stated (in its module where it has one, else here)
and checked on documents built by the real code (materialize_batch, record_changes, commit) from worst-case data:
the longest region name, October (31 days, one of them the 50-half-hour autumn DST day), every source and load
factor present with 5-digit values and 3 decimals, the longest nature. Sizes are of the JSON the embedded store
gives back; Cosmos adds ~300 B of system properties, inside the margins.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import orjson
import pytest

from domain import change_feed as feed
from domain import forecast_materialization, national_materialization, quarantine, run_outcome
from domain import materialization as mat
from domain import revisions as rev
from domain.aggregate import NATURES
from domain.hashing import with_content_hash
from domain.intensity_now import write_intensity_now
from domain.models import GoldRow
from domain.naming import CATALOG_DOC_ID, WATERMARK_DOC_ID
from domain.national_plan import national_batches
from domain.ports import SYSTEM_PARTITION
from domain.regions import AREAS, REGIONS
from domain.sources import ALL_SOURCES, PRODUCTION_SOURCES
from stores.documents_cosmos import item_of
from stores.documents_embedded import EmbeddedDocumentStore
from tests.support.fakes import MemoryFiles, MemoryGold, gold_day_rows

COSMOS_ITEM_LIMIT = 2 * 1024 * 1024
WELL_UNDER = COSMOS_ITEM_LIMIT // 8  # every stated maximum leaves at least 7/8 of the item limit

# The maxima of the types whose modules state none (the materialization's own documents).
MAX_DAY_BYTES = 64 * 1024  # 50 half-hours × 15 values, measured 35 kB
MAX_MONTH_BYTES = 64 * 1024  # 31 day totals, measured 24 kB
MAX_CATALOG_BYTES = 8 * 1024  # one entry per region
# A day or month document's Cosmos item: its JSON escaped in a string, and its items pre-serialized.
MAX_COSMOS_ITEM_BYTES = 160 * 1024
MAX_SMALL_BYTES = 1024  # the watermark, the feed's head hint: one value
MAX_FORECAST_BYTES = 256 * 1024  # 96 half-hours × 10 variables × 3 + every model's metrics, measured 78 kB
MAX_SERIES_BYTES = 192 * 1024  # a month of half-hours × the forecast's variables as columns, measured 119 kB
MAX_INTENSITY_NOW_BYTES = 32 * 1024  # one latest interval per area (13)

BOUNDS: dict[str, int] = {
    "day": MAX_DAY_BYTES,
    "month": MAX_MONTH_BYTES,
    feed.PAGE_DOC_TYPE: feed.MAX_PAGE_BYTES,
    "changes-head": MAX_SMALL_BYTES,
    rev.DOC_TYPE: rev.MAX_HISTORY_BYTES,
    rev.ANNOUNCED_DOC_TYPE: rev.MAX_ANNOUNCED_BYTES,
    "catalog": MAX_CATALOG_BYTES,
    "watermark": MAX_SMALL_BYTES,
    "quarantine": quarantine.MAX_RECORD_BYTES,
    "forecast": MAX_FORECAST_BYTES,
    "series": MAX_SERIES_BYTES,
    "intensity-now": MAX_INTENSITY_NOW_BYTES,
    "runs": run_outcome.MAX_RECORD_BYTES,  # built worst-case by tests/unit/domain/test_quarantine.py
}

REGION = max(REGIONS, key=lambda r: len(r.name)).code
MONTH = "2024-10"
NATURE = max(NATURES, key=len)


def worst_case_gold() -> MemoryGold:
    rng = random.Random(22)
    rows: list[GoldRow] = []
    for day in range(1, 32):
        for r in gold_day_rows(f"{MONTH}-{day:02d}", dict.fromkeys(ALL_SOURCES, 0.0), nature=NATURE):
            mw = rng.uniform(10_000, 99_999) * (-1 if r.source_name == "pompage" else 1)
            tch = rng.uniform(10, 99) if r.source_name in PRODUCTION_SOURCES else None
            rows.append(r._replace(valeur_mw=mw, facteur_charge=tch, loaded_at="2025-01-15T00:00:00.123456Z"))
    return MemoryGold({REGION: rows})


def size(doc: dict[str, Any] | None) -> int:
    assert doc is not None
    return len(orjson.dumps(doc))


@pytest.fixture(scope="module")
def materialized(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedDocumentStore:
    """A worst-case month materialized and committed, then its DST day and month revised past the history cap."""
    store = EmbeddedDocumentStore(Path(tmp_path_factory.mktemp("bounds")) / "docs.sqlite")
    gold = worst_case_gold()
    plan = mat.plan(gold, store, {"mode": "incremental"}, parallelism=1)
    assert [(b["region_code"], b["month"], len(b["days"])) for b in plan["batches"]] == [(REGION, MONTH, 31)]
    results = [mat.materialize_batch(gold, store, MemoryFiles(), b) for b in plan["batches"]]
    # The catalog at its widest: every region materialized over the widest span.
    results += [
        {**results[0], "region_code": r.code, "first_day": "2012-01-01", "last_day": "2099-12-31"} for r in REGIONS
    ]
    # France from the stored regions (one here: its values null, marked incomplete), then what follows a commit.
    national = national_batches(results[:1])
    results += [national_materialization.materialize_national(store, MemoryFiles(), b) for b in national]
    mat.commit(store, {**plan, "watermark": "2099-12-31T23:59:59.999999Z"}, results, now="t", instance_id="bounds")
    write_intensity_now(store, "2099-12-31T23:59:59.999999+00:00")
    days = store.query_range(REGION, "day", f"{MONTH}-01", f"{MONTH}-31")
    forecast = forecast_materialization.forecast_for(REGION, days, "2099-12-31T23:59:59+00:00")
    assert forecast is not None
    store.upsert(forecast)
    day, month = store.get(REGION, f"{REGION}:{MONTH}-27"), store.get(REGION, f"{REGION}:{MONTH}")
    assert day is not None and month is not None
    for n in range(1, rev.MAX_KEPT_VERSIONS + 5):  # past the cap: the history at its largest
        revised = [
            with_content_hash({**day, "totals": {**day["totals"], "production_mwh": 99_999_999.123 + n}}),
            with_content_hash({**month, "production_mwh": 9_999_999_999.123 + n}),
        ]
        feed.record_changes(store, REGION, MONTH, revised, f"2099-12-31T23:59:59.{n:06d}+00:00")
    return store


def every_document(store: EmbeddedDocumentStore) -> list[dict[str, Any]]:
    conn = store._connection()
    return [orjson.loads(body) for (body,) in conn.execute("SELECT CAST(body AS BLOB) FROM documents")]


def test_every_stated_bound_is_well_under_the_item_limit() -> None:
    assert all(bound <= WELL_UNDER for bound in BOUNDS.values()), BOUNDS


def test_every_document_type_written_has_a_stated_bound_and_keeps_it(materialized: EmbeddedDocumentStore) -> None:
    docs = every_document(materialized)
    largest: dict[str, int] = {}
    for doc in docs:
        largest[doc["doc_type"]] = max(largest.get(doc["doc_type"], 0), size(doc))
    assert set(largest) <= set(BOUNDS)  # a new document type needs its bound stated here
    over = {t: (n, BOUNDS[t]) for t, n in largest.items() if n > BOUNDS[t]}
    assert not over


def test_day_document_of_the_dst_day(materialized: EmbeddedDocumentStore) -> None:
    day = materialized.get(REGION, f"{REGION}:{MONTH}-27")
    assert day is not None and len(day["intervals"]) == 50
    assert 30_000 < size(day) <= MAX_DAY_BYTES  # every value present: the worst case, not a sparse day


def test_month_document(materialized: EmbeddedDocumentStore) -> None:
    month = materialized.get(REGION, f"{REGION}:{MONTH}")
    assert month is not None and len(month["days"]) == 31
    assert size(month) <= MAX_MONTH_BYTES


@pytest.mark.parametrize("doc_id", [f"{REGION}:{MONTH}-27", f"{REGION}:{MONTH}"], ids=["dst-day", "month"])
def test_cosmos_item_with_the_stored_items(materialized: EmbeddedDocumentStore, doc_id: str) -> None:
    """A Cosmos item holds the document's JSON as a string and its range items pre-serialized
    (stores.documents_cosmos.item_of): measured 82 kB for the DST day, 60 kB for the month."""
    doc = materialized.get(REGION, doc_id)
    assert doc is not None
    assert len(json.dumps(item_of(doc)).encode()) <= MAX_COSMOS_ITEM_BYTES


def test_changes_page_of_a_whole_month(materialized: EmbeddedDocumentStore) -> None:
    page = materialized.get(feed.CHANGES_PARTITION, f"{feed.PAGE_DOC_TYPE}:{feed.page_key(1)}")
    assert page is not None and len(page["entries"]) == feed.MAX_PAGE_ENTRIES  # 31 days and the month
    assert max(size(e) for e in page["entries"]) <= feed.MAX_ENTRY_BYTES
    assert size(page) <= feed.MAX_PAGE_BYTES
    with pytest.raises(ValueError, match="one batch"):
        feed.append_changes(materialized, page["entries"] + page["entries"][:1], "t")


@pytest.mark.parametrize("key", [f"{MONTH}-27", MONTH], ids=["day", "month"])
def test_revision_history_at_its_cap(materialized: EmbeddedDocumentStore, key: str) -> None:
    record = materialized.get(REGION, rev.revisions_doc_id(REGION, key))
    assert record is not None and len(record["versions"]) == rev.MAX_KEPT_VERSIONS + 1
    assert record["versions_dropped"] == record["versions_total"] - len(record["versions"]) > 0
    assert max(size(v) for v in record["versions"]) <= rev.MAX_VERSION_BYTES
    assert size(record) <= rev.MAX_HISTORY_BYTES


def test_announced_index_of_a_whole_month(materialized: EmbeddedDocumentStore) -> None:
    index = materialized.get(REGION, rev.announced_doc_id(REGION, MONTH))
    assert index is not None and len(index["hashes"]) == 32
    assert size(index) <= rev.MAX_ANNOUNCED_BYTES


def test_catalog_and_watermark(materialized: EmbeddedDocumentStore) -> None:
    catalog = materialized.get(SYSTEM_PARTITION, CATALOG_DOC_ID)
    assert catalog is not None and len(catalog["regions"]) == len(AREAS)  # the 12 regions and FR
    assert size(catalog) <= MAX_CATALOG_BYTES
    assert size(materialized.get(SYSTEM_PARTITION, WATERMARK_DOC_ID)) <= MAX_SMALL_BYTES


def test_quarantine_record_states_its_bound() -> None:
    assert quarantine.MAX_RECORD_BYTES <= WELL_UNDER
