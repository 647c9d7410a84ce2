"""devhost: a local Azure Functions + Durable Functions host that runs the real function_app.py."""
