"""Gold facts in columns: what the reader hands the aggregation for a region and a span of days.

One array per field instead of one tuple per fact: a year of a region is ~150 000 facts, and building and
unpacking a tuple for each cost more than the aggregation itself. Instants are epoch minutes (UTC), the
Gold id_date, so no text is parsed; the text columns (day, source, load time, nature) repeat a handful of
distinct values and are kept as object arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from domain.models import GoldRow


@dataclass(frozen=True, slots=True)
class GoldColumns:
    minutes: np.ndarray  # int64, UTC epoch minutes of each fact's instant
    date_locale: np.ndarray  # object: "YYYY-MM-DD", the Europe/Paris day of the instant as Gold states it
    source_name: np.ndarray  # object
    valeur_mw: np.ndarray  # float64, NaN where NULL
    facteur_charge: np.ndarray  # float64, NaN where NULL
    loaded_at: np.ndarray  # object: "YYYY-MM-DDTHH:MM:SS.ffffffZ" (sorts as text)
    nature: np.ndarray  # object

    def __len__(self) -> int:
        return len(self.minutes)

    def take(self, mask: np.ndarray) -> GoldColumns:
        """The facts where the boolean `mask` is True."""
        return GoldColumns(*(getattr(self, name)[mask] for name in self.__slots__))

    def as_lists(self) -> dict[str, list[object]]:
        """Plain lists by field, NaN as None: for comparing two readers' columns."""
        return {
            name: [None if isinstance(v, float) and v != v else v for v in getattr(self, name).tolist()]
            for name in self.__slots__
        }

    @classmethod
    def empty(cls) -> GoldColumns:
        text = np.array([], dtype=object)
        return cls(np.array([], dtype=np.int64), text, text, np.array([]), np.array([]), text, text)

    @classmethod
    def from_rows(cls, rows: Sequence[GoldRow]) -> GoldColumns:
        """Columns of GoldRow tuples (tests and small callers); instants parsed from their text."""
        if not rows:
            return cls.empty()
        import pandas as pd  # only here: the columns' readers give epoch minutes, no text to parse

        stamps, days, sources, values, loads, loaded_at, natures = zip(*rows, strict=True)
        instants = pd.to_datetime(pd.Index(stamps), format="ISO8601", utc=True)
        return cls(
            minutes=np.asarray(instants.as_unit("s").asi8 // 60, dtype=np.int64),
            date_locale=np.asarray(days, dtype=object),
            source_name=np.asarray(sources, dtype=object),
            valeur_mw=np.asarray(values, dtype="float64"),
            facteur_charge=np.asarray(loads, dtype="float64"),
            loaded_at=np.asarray(loaded_at, dtype=object),
            nature=np.asarray(natures, dtype=object),
        )
