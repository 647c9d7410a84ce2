"""The 12 metropolitan French regions of éCO2mix (Corsica is not in the regional dataset)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Region:
    code: str  # INSEE region code, as a string ("11", "93")
    name: str
    has_nuclear: bool


REGIONS: tuple[Region, ...] = (
    Region("11", "Île-de-France", False),
    Region("24", "Centre-Val de Loire", True),
    Region("27", "Bourgogne-Franche-Comté", False),
    Region("28", "Normandie", True),
    Region("32", "Hauts-de-France", True),
    Region("44", "Grand Est", True),
    Region("52", "Pays de la Loire", False),
    Region("53", "Bretagne", False),
    Region("75", "Nouvelle-Aquitaine", True),
    Region("76", "Occitanie", True),
    Region("84", "Auvergne-Rhône-Alpes", True),
    Region("93", "Provence-Alpes-Côte d'Azur", False),
)

REGIONS_BY_CODE: dict[str, Region] = {r.code: r for r in REGIONS}

# France as a whole: the sum of the 12 regions (domain.national), materialized as one more "region" whose
# documents are built from the regions' day documents, never from Gold. REGIONS stays the 12 regions (Gold,
# the "all regions" exports, the inputs of the sum); AREAS is every code a read route takes.
NATIONAL: Region = Region("FR", "France", True)
AREAS: tuple[Region, ...] = (*REGIONS, NATIONAL)
AREAS_BY_CODE: dict[str, Region] = {r.code: r for r in AREAS}


def _key(text: str) -> str:
    """Accent-, case- and punctuation-free key: RTE files spell regions several ways."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", ascii_text.lower())


# Names seen in RTE annual files (`Périmètre`) and older spellings, beside the official names.
_ALIASES: dict[str, str] = {
    "PACA": "93",
    "Provence-Alpes-Cote d'Azur": "93",
    "Ile-de-France": "11",
    "Centre": "24",
    "Grand-Est": "44",
    "Pays-de-la-Loire": "52",
    "Auvergne-Rhone-Alpes": "84",
    "Bourgogne-Franche-Comte": "27",
}
_BY_KEY: dict[str, str] = {_key(r.name): r.code for r in REGIONS} | {_key(k): v for k, v in _ALIASES.items()}


def region_code_for_name(name: str) -> str | None:
    """INSEE code for a region name as written in an éCO2mix file, or None when unknown."""
    return _BY_KEY.get(_key(name))
