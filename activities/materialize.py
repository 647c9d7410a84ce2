"""Activity triggers of the materialization: thin wrappers over domain.materialization with the worker's stores."""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from domain import materialization
from stores.factory import get_stores
from stores.settings import get_settings

bp = df.Blueprint()


@bp.activity_trigger(input_name="request")
def plan_materialization(request: dict[str, Any]) -> dict[str, Any]:
    stores = get_stores()
    return dict(materialization.plan(stores.gold, stores.documents, request, get_settings().MATERIALIZE_BATCH_SIZE))


@bp.activity_trigger(input_name="batch")
def materialize_batch(batch: dict[str, Any]) -> dict[str, Any]:
    stores = get_stores()
    return dict(materialization.materialize_batch(stores.gold, stores.documents, stores.files, batch))  # type: ignore[arg-type]


@bp.activity_trigger(input_name="payload")
def commit_materialization(payload: dict[str, Any]) -> dict[str, Any]:
    return materialization.commit(get_stores().documents, payload["plan"], payload["results"])
