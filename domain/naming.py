"""Names shared by the pipeline and the API: document ids and export file names."""

from __future__ import annotations


def day_doc_id(region_code: str, day: str) -> str:
    return f"{region_code}:{day}"


def month_doc_id(region_code: str, month: str) -> str:
    return f"{region_code}:{month}"


def day_file_name(region_code: str, day: str) -> str:
    """Blob/file name of one region-day CSV (`day` is YYYY-MM-DD)."""
    return f"{region_code}/{day[:4]}/eco2mix_{region_code}_{day}.csv"


def month_file_name(region_code: str, month: str) -> str:
    """Blob/file name of one region-month CSV (`month` is YYYY-MM)."""
    return f"{region_code}/{month[:4]}/eco2mix_{region_code}_{month}.csv"


def download_name(file_name: str) -> str:
    """File name offered to the browser (Content-Disposition)."""
    return file_name.rsplit("/", 1)[-1]


# Documents of the `_system` partition (see domain.ports.SYSTEM_PARTITION).
WATERMARK_DOC_ID = "watermark"
CATALOG_DOC_ID = "catalog"
