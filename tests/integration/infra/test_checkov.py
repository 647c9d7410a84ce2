"""checkov (bicep framework) over infra/: no failed check, every skip justified at the resource."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.bicep import BICEP, bicep_files, run_checkov

# A skip must say why in its own words, not just repeat the check id.
MIN_REASON_LENGTH = 30


def test_checkov_reports_no_failed_check(checkov_report: dict[str, Any]) -> None:
    failed = [
        f"{check['check_id']} {check['resource']} ({check['file_path']}): {check['check_name']}"
        for check in checkov_report["results"]["failed_checks"]
    ]
    assert failed == []


def test_checkov_parsed_every_bicep_file(checkov_report: dict[str, Any]) -> None:
    summary = checkov_report["summary"]
    assert summary["parsing_errors"] == 0, checkov_report["results"].get("parsing_errors")
    scanned = {check["file_path"] for check in checkov_report["results"]["passed_checks"]}
    # Files holding security-relevant resources must actually have been checked, not silently ignored.
    for relative in ("core/storage.bicep", "core/cosmos.bicep", "app/api.bicep", "app/apim.bicep"):
        assert f"/bicep/{relative}" in scanned


def test_checkov_ran_real_checks(checkov_report: dict[str, Any]) -> None:
    # Evaluated checks: passed ones plus the skips justified at the resource (test below).
    summary = checkov_report["summary"]
    assert summary["passed"] >= 15
    assert summary["passed"] + summary["skipped"] >= 20


def test_every_skip_is_justified_at_the_resource(checkov_report: dict[str, Any]) -> None:
    skipped = checkov_report["results"]["skipped_checks"]
    for check in skipped:
        reason = (check["check_result"].get("suppress_comment") or "").strip()
        assert len(reason) >= MIN_REASON_LENGTH, f"{check['check_id']} on {check['resource']}: {reason!r}"


def test_no_skip_comment_is_stale(checkov_report: dict[str, Any]) -> None:
    """A `checkov:skip` comment that suppresses nothing hides nothing but misleads the reader."""
    used = {check["check_id"] for check in checkov_report["results"]["skipped_checks"]}
    written = set()
    for path in bicep_files():
        for line in path.read_text(encoding="utf-8").splitlines():
            if "checkov:skip=" in line:
                written.add(line.split("checkov:skip=", 1)[1].split(":", 1)[0].strip())
    assert written == used


INSECURE_CASES = [
    pytest.param(
        "storage.bicep",
        """resource st 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: 'stinsecure'
  location: 'westeurope'
  kind: 'StorageV2'
  sku: {
    name: 'Standard_GRS'
  }
  properties: {
    allowBlobPublicAccess: true
    minimumTlsVersion: 'TLS1_0'
    supportsHttpsTrafficOnly: false
  }
}
""",
        {"CKV_AZURE_3", "CKV_AZURE_44"},
        id="storage-public-tls10-http",
    ),
    pytest.param(
        "cosmos.bicep",
        """resource db 'Microsoft.DocumentDB/databaseAccounts@2024-05-15' = {
  name: 'cosmos-insecure'
  location: 'westeurope'
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    disableLocalAuth: false
  }
}
""",
        {"CKV_AZURE_140"},
        id="cosmos-local-auth",
    ),
]


@pytest.fixture(scope="module")
def insecure_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One checkov run over every deliberately insecure template of INSECURE_CASES."""
    directory = tmp_path_factory.mktemp("insecure-bicep")
    for case in INSECURE_CASES:
        file_name, bicep, _expected = case.values
        (directory / str(file_name)).write_text(str(bicep), encoding="utf-8")
    return run_checkov(directory)


@pytest.mark.parametrize(("file_name", "bicep", "expected_failures"), INSECURE_CASES)
def test_checkov_fails_insecure_resources(
    insecure_report: dict[str, Any], file_name: str, bicep: str, expected_failures: set[str]
) -> None:
    """The harness itself can fail: the same run over a deliberately insecure template reports it."""
    failed = {
        check["check_id"]
        for check in insecure_report["results"]["failed_checks"]
        if check["file_path"].endswith(file_name)
    }
    assert expected_failures <= failed


def test_bicep_root_is_where_azure_yaml_points() -> None:
    azure_yaml = (BICEP.parents[1] / "azure.yaml").read_text(encoding="utf-8")
    assert "path: infra/bicep" in azure_yaml
