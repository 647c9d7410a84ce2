"""Composition root: one DFApp, one blueprint per module. No logic here."""

import azure.durable_functions as df
import azure.functions as func

from activities import materialize as materialize_activities
from activities import webhooks as webhook_activities
from api import (
    backfills,
    changes,
    docs,
    explorer,
    export,
    forecast,
    health,
    intensity,
    methodology,
    production,
    quarantine,
    regions,
    revisions,
    webhooks,
)
from core.telemetry import configure_telemetry
from orchestrations import materialize as materialize_orchestration
from orchestrations import webhooks as webhook_orchestration

configure_telemetry()

# Auth is the API's own (X-API-Key / Entra ID bearer, api/auth.py), so function keys are not used.
app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

# The HTTP modules: each registers its functions and keeps the OpenAPI operations of its routes.
API_MODULES = (
    health,
    regions,
    production,
    revisions,
    changes,
    webhooks,
    export,
    backfills,
    quarantine,
    docs,
    explorer,
    methodology,
    intensity,
    forecast,
)

for module in (
    *API_MODULES,
    materialize_orchestration,
    materialize_activities,
    webhook_orchestration,
    webhook_activities,
):
    app.register_functions(module.bp)
docs.publish((op for module in API_MODULES for op in module.OPERATIONS), webhooks.WEBHOOK_EVENTS)
