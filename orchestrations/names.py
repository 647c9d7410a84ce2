"""Names of the durable functions, used by the triggers that start or query them."""

ORCHESTRATOR = "materialize_orchestrator"
INCREMENTAL_INSTANCE_ID = "materialize-incremental"  # singleton: the timer never runs two at once
BACKFILL_INSTANCE_PREFIX = "backfill-"

ACTIVITY_PLAN = "plan_materialization"
ACTIVITY_MATERIALIZE_BATCH = "materialize_batch"
ACTIVITY_COMMIT = "commit_materialization"
ACTIVITY_MATERIALIZE_NATIONAL = "materialize_national"
ACTIVITY_FORECAST = "materialize_forecast"
