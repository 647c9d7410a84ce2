"""The one time zone of the data: éCO2mix local days and hours are Europe/Paris wall-clock time."""

from __future__ import annotations

from typing import Final
from zoneinfo import ZoneInfo

TIMEZONE: Final[str] = "Europe/Paris"
PARIS: Final[ZoneInfo] = ZoneInfo(TIMEZONE)
