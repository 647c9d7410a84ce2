"""JSON Schema formats of the text fields that hold days and instants, so that clients generated from the
OpenAPI document parse them as dates and timestamps (the values stay ISO 8601 text in the documents)."""

from __future__ import annotations

from typing import Annotated

from pydantic import WithJsonSchema

DateText = Annotated[str, WithJsonSchema({"type": "string", "format": "date"})]  # a local day, YYYY-MM-DD
TimestampText = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]  # RFC 3339, with offset
