"""Names of the durable functions, used by the triggers that start or query them."""

ORCHESTRATOR = "materialize_orchestrator"
INCREMENTAL_INSTANCE_ID = "materialize-incremental"  # singleton: the timer never runs two at once
BACKFILL_INSTANCE_PREFIX = "backfill-"

ACTIVITY_PLAN = "plan_materialization"
ACTIVITY_MATERIALIZE_BATCH = "materialize_batch"
ACTIVITY_COMMIT = "commit_materialization"
ACTIVITY_RECORD_FAILURE = "record_materialization_failure"
ACTIVITY_MATERIALIZE_NATIONAL = "materialize_national"
ACTIVITY_FORECAST = "materialize_forecast"

# Webhooks (orchestrations/webhooks.py, activities/webhooks.py).
WEBHOOK_ORCHESTRATOR = "webhook_delivery_orchestrator"
ACTIVITY_START_WEBHOOKS = "start_webhook_deliveries"
ACTIVITY_WEBHOOK_NEXT_BATCH = "next_webhook_batch"
ACTIVITY_WEBHOOK_SEND = "send_webhook_batch"
ACTIVITY_WEBHOOK_DISABLE = "disable_webhook"
