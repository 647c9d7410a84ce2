"""GET /v1/methodologies: the versioned methodology (domain.methodology) with the data's licence and attribution.

Public, like /v1/openapi.json and /v1/docs: it describes how numbers are made and under which licence they may
be reused, holds no data of its own, and a reuser must be able to read the attribution without a key. One store
read per request: the watermark document, whose value (the newest Gold load materialized, UTC) is the "date of
the data's last update" the Licence Ouverte asks a reuser to state.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df
import azure.functions as func
from pydantic import BaseModel, ConfigDict, Field

from api import caching
from api.http import ALL_METHODS, Reply, RequestContext, Route, respond
from api.openapi import Operation
from domain.methodology import methodology_document
from domain.naming import WATERMARK_DOC_ID
from domain.text_formats import TimestampText
from stores.ports import SYSTEM_PARTITION, DocumentStore

bp = df.Blueprint()

ROUTE = Route("get_methodologies", "/v1/methodologies", {"GET": None})


class EmissionFactor(BaseModel):
    source: str = Field(examples=["nucleaire"])
    g_co2eq_per_kwh: float = Field(description="Lifecycle emission factor, gCO2eq/kWh")
    technology: str
    reference: str
    scope: str


class Licence(BaseModel):
    name: str
    url: str
    attribution: str = Field(description="The source a reuser must name")
    data: str
    data_url: str


class Methodology(BaseModel):
    """How every derived number is made: emission factors, carbon intensity, the FR sum, the forecast models."""

    model_config = ConfigDict(extra="allow")
    id: str
    doc_type: str
    methodology_version: str = Field(description="The value every document carries in `methodology_version`")
    data_last_updated: TimestampText | None = Field(
        description="Newest Gold load materialized (UTC): the date of the data's last update; null before any run"
    )
    licence: Licence
    emission_factors: list[EmissionFactor]
    carbon_intensity: dict[str, str]
    national_aggregation: dict[str, str]
    forecast: dict[str, Any]


OPERATIONS = (
    Operation(
        ROUTE,
        "GET",
        "getMethodologies",
        "The methodology: emission factors, carbon intensity, the FR sum, forecast models, licence and attribution",
        ok_model=Methodology,
        conditional=True,
    ),
)


def methodology(documents: DocumentStore) -> dict[str, Any]:
    """The methodology document dated by the watermark (one point read)."""
    marker = documents.get(SYSTEM_PARTITION, WATERMARK_DOC_ID)
    value = marker.get("value") if marker else None
    document = methodology_document(value if isinstance(value, str) else None)
    # The metrics are per area and variable, issued with each forecast: where to read them.
    document["forecast"]["backtest_metrics"] = (
        "per region and FR in /v1/forecast/regional/{region_code}: models.<variable>.bands (chosen model, MAE, "
        "MAE of seasonal_naive_day, skill per band) and models.<variable>.backtest.metrics (every candidate)"
    )
    return document


def _handle(ctx: RequestContext) -> Reply:
    body = methodology(ctx.stores.documents)
    tag = caching.combined_etag([body["methodology_version"], str(body["data_last_updated"])], "methodologies")
    return Reply(body, etag=tag, cache_control=caching.SHORT)


@bp.function_name(name=ROUTE.function_name)
@bp.route(route=ROUTE.functions_route, methods=ALL_METHODS, auth_level=func.AuthLevel.ANONYMOUS)
def get_methodologies(req: func.HttpRequest) -> func.HttpResponse:
    return respond(req, ROUTE, _handle)
