"""Deterministic, realistic-looking sample Gold data for the 12 regions (embedded SQLite Gold DB).

Shapes, not history: consumption follows the season and the day, solar the sun, wind a slow random
process, nuclear a seasonal availability; pumping (<= 0) exists only where pumped storage does, and
ech_physiques closes the balance exactly: consommation = Σ production + pompage + ech_physiques.
Everything is vectorized with numpy and written with executemany in one transaction (about 1.8 M facts
per year), so building 10 years for benchmarks stays practical.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from domain.local_time import TIMEZONE
from domain.regions import REGIONS, Region
from domain.sources import PRODUCTION_SOURCES
from localdev.gold_schema import SOURCE_IDS, create_indexes, create_schema, region_id, time_rows

NATURE_FINAL = "Données définitives"
NATURE_CONSOLIDATED = "Données consolidées"
STEP_MINUTES = 30


@dataclass(frozen=True, slots=True)
class RegionProfile:
    """Installed capacities in MW (rough orders of magnitude of each region) and mean consumption."""

    consumption: float
    nucleaire: float
    thermique: float
    hydraulique: float
    eolien: float
    solaire: float
    bioenergies: float
    pumping: float | None  # None: no pompage rows at all (the RTE files say '-'); 0: rows of zeros


PROFILES: dict[str, RegionProfile] = {
    "11": RegionProfile(7800, 0, 1000, 20, 120, 250, 250, None),
    "24": RegionProfile(2100, 11700, 200, 100, 1500, 500, 100, 0),
    "27": RegionProfile(2400, 0, 300, 500, 900, 500, 150, 0),
    "28": RegionProfile(3300, 9900, 600, 50, 1000, 200, 150, 0),
    "32": RegionProfile(5500, 5400, 3000, 5, 5500, 400, 250, 0),
    "44": RegionProfile(5000, 9800, 2000, 2300, 4000, 800, 300, 800),
    "52": RegionProfile(3000, 0, 1500, 10, 1300, 800, 150, 0),
    "53": RegionProfile(2500, 0, 800, 250, 1300, 400, 150, 0),
    "75": RegionProfile(4000, 6400, 300, 1900, 1600, 3000, 300, None),
    "76": RegionProfile(4000, 2600, 100, 5400, 1700, 2500, 200, 500),
    "84": RegionProfile(7000, 13600, 600, 11500, 700, 1300, 300, 1700),
    "93": RegionProfile(4500, 0, 2000, 3300, 100, 1500, 300, 300),
}


def _smooth_noise(rng: np.random.Generator, n: int, span: int) -> np.ndarray:
    """Zero-mean, unit-variance noise correlated over about `span` steps (exponential kernel)."""
    kernel = np.exp(-np.arange(4 * span) / span)
    white = rng.standard_normal(n + kernel.size)
    smooth = np.convolve(white, kernel, mode="valid")[:n]
    return (smooth - smooth.mean()) / (smooth.std() or 1.0)


def _timeline(first_year: int, last_year: int) -> pd.DatetimeIndex:
    """UTC half-hours covering the local (Europe/Paris) years first_year..last_year."""
    paris = ZoneInfo(TIMEZONE)
    start = pd.Timestamp(datetime(first_year, 1, 1, tzinfo=paris)).tz_convert("UTC")
    end = pd.Timestamp(datetime(last_year + 1, 1, 1, tzinfo=paris)).tz_convert("UTC")
    return pd.date_range(start, end, freq=f"{STEP_MINUTES}min", inclusive="left")


def _region_values(region: Region, utc: pd.DatetimeIndex, local: pd.DatetimeIndex, seed: int) -> dict[str, np.ndarray]:
    """MW by source for one region (integers as floats, like the real files), balance closed exactly."""
    p = PROFILES[region.code]
    rng = np.random.default_rng([seed, int(region.code)])
    n = len(utc)
    hour = np.asarray(local.hour + local.minute / 60.0, dtype=float)
    utc_hour = np.asarray(utc.hour + utc.minute / 60.0, dtype=float)
    doy = np.asarray(local.dayofyear, dtype=float)
    winter = np.cos(2 * np.pi * (doy - 15) / 365.25)  # +1 mid-January, -1 mid-July
    weekend = np.asarray(local.dayofweek >= 5)
    day_index = np.asarray((utc - utc[0]) // pd.Timedelta(days=1), dtype=np.int64)

    daily = 0.86 + 0.12 * np.exp(-(((hour - 12.5) / 4.0) ** 2)) + 0.10 * np.exp(-(((hour - 19.5) / 2.0) ** 2))
    daily -= 0.12 * np.exp(-(((hour - 4.0) / 2.5) ** 2))
    consumption = p.consumption * (1 + 0.22 * winter) * daily * np.where(weekend, 0.92, 1.0)
    consumption *= 1 + 0.02 * _smooth_noise(rng, n, 8)

    # Sun: day length 8 h in winter to 16 h in summer around solar noon (~11:45 UTC), daily cloudiness.
    day_length = 12.0 - 3.8 * winter
    sun = np.clip(np.cos(np.pi * (utc_hour - 11.75) / day_length), 0.0, None) ** 1.3
    sun[np.abs(utc_hour - 11.75) > day_length / 2] = 0.0
    clouds = np.clip(0.7 + 0.25 * rng.standard_normal(day_index.max() + 1), 0.15, 1.0)[day_index]
    solaire = p.solaire * sun * (0.55 - 0.2 * winter) * clouds

    wind_state = 1.3 * _smooth_noise(rng, n, 96) + 0.5 * winter - 0.9
    eolien = p.eolien * 0.85 / (1 + np.exp(-wind_state))

    availability = np.clip(0.76 + 0.12 * winter + 0.05 * _smooth_noise(rng, n, 24 * 48), 0.35, 0.97)
    nucleaire = p.nucleaire * availability * (1 - 0.03 * np.exp(-(((hour - 4.0) / 3.0) ** 2)))

    peak = np.exp(-(((hour - 19.0) / 2.5) ** 2)) + 0.6 * np.exp(-(((hour - 9.0) / 2.0) ** 2))
    melt = np.exp(-(((doy - 150) / 50.0) ** 2))
    hydraulique = p.hydraulique * np.clip(0.22 + 0.2 * melt + 0.2 * peak + 0.03 * _smooth_noise(rng, n, 48), 0, 1)
    thermique = p.thermique * np.clip(
        0.1 + 0.3 * np.clip(winter, 0, None) + 0.15 * peak + 0.05 * _smooth_noise(rng, n, 48), 0.02, 0.95
    )
    bioenergies = p.bioenergies * np.clip(0.6 + 0.04 * _smooth_noise(rng, n, 96), 0.3, 0.9)

    values = {
        "nucleaire": nucleaire,
        "thermique": thermique,
        "hydraulique": hydraulique,
        "eolien": eolien,
        "solaire": solaire,
        "bioenergies": bioenergies,
    }
    values = {k: np.round(v) for k, v in values.items() if getattr(p, k) > 0}
    out: dict[str, np.ndarray] = dict(values)
    if p.pumping is not None:
        night = np.exp(-(((hour - 3.5) / 2.5) ** 2))
        out["pompage"] = -np.round(p.pumping * night * np.clip(0.5 + 0.3 * rng.standard_normal(n), 0, 1))
    out["consommation"] = np.round(consumption)
    balance = sum(values.values(), np.zeros(n)) + out.get("pompage", 0.0)
    out["ech_physiques"] = out["consommation"] - balance  # > 0: net import, closes the identity exactly
    return out


def build_sample_gold(
    db_path: Path,
    *,
    years: int = 1,
    last_year: int = 2024,
    seed: int = 7,
    region_codes: Sequence[str] | None = None,
) -> int:
    """Create the Gold schema in `db_path` and fill `years` local years ending with `last_year`.

    Returns the number of fact rows written. Deterministic for given arguments (each region has its own
    random stream, so a subset of `region_codes` gives the same rows as the full build). Existing facts
    of the same keys are replaced.
    """
    if years < 1:
        raise ValueError("years must be >= 1")
    utc = _timeline(last_year - years + 1, last_year)
    local = utc.tz_convert(TIMEZONE)
    # Unit-safe (pandas may hold s, ms, us or ns): minutes since the epoch = id_date.
    minutes = np.asarray((utc - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(minutes=1), dtype=np.int64)
    month = np.asarray(local.year * 100 + local.month)
    nature = np.where(month == last_year * 100 + 12, NATURE_CONSOLIDATED, NATURE_FINAL).astype(object)
    loaded_at = f"{last_year + 1:04d}-01-15T06:00:00.000000Z"  # fixed: rebuilding changes no watermark

    db_path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db_path)
    written = 0
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")
        create_schema(conn, with_indexes=False)
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT OR REPLACE INTO DIM_TIME (id_date, horodatage, date_locale, heure_locale, utc_offset_minutes) "
            "VALUES (?, ?, ?, ?, ?)",
            time_rows(minutes),
        )
        for region in [r for r in REGIONS if region_codes is None or r.code in region_codes]:
            values = _region_values(region, utc, local, seed)
            # Canonical source order, so rows arrive in primary-key order (fast B-tree appends).
            names = sorted(values, key=SOURCE_IDS.__getitem__)
            capacity = PROFILES[region.code]
            matrix = np.column_stack([values[s] for s in names])
            factor = np.column_stack(
                [
                    np.round(values[s] / getattr(capacity, s) * 100, 2)
                    if s in PRODUCTION_SOURCES
                    else np.full(len(utc), np.nan)
                    for s in names
                ]
            )
            count = matrix.size
            factor_list: list[float | None] = [None if np.isnan(x) else x for x in factor.ravel().tolist()]
            rows = zip(
                [region_id(region.code)] * count,
                np.repeat(minutes, len(names)).tolist(),
                np.tile(np.array([SOURCE_IDS[s] for s in names]), len(utc)).tolist(),
                matrix.ravel().tolist(),
                factor_list,
                np.repeat(nature, len(names)).tolist(),
                [loaded_at] * count,
                strict=True,
            )
            conn.executemany(
                "INSERT OR REPLACE INTO FACT_ENERGY_FLOW "
                "(id_region, id_date, id_source, valeur_mw, facteur_charge, nature, loaded_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            written += count
        conn.commit()
        create_indexes(conn)
        conn.execute("PRAGMA synchronous=FULL")
        conn.commit()
    finally:
        conn.close()
    return written
