"""The alert rules of core/alerts.bicep: a stalled materialization and failed orchestrations notify someone,
and their log queries match the log lines the code and the Durable extension write."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.bicep import BICEP, REPO, template_of

Templates = dict[Path, dict[str, Any]]
QUERIES = BICEP / "core" / "alerts"


def _rules(templates: Templates) -> dict[str, dict[str, Any]]:
    resources = template_of(templates, "core/alerts.bicep")["resources"]
    return {
        name: resource["config"]
        for name, resource in resources.items()
        if resource["type"] == "Microsoft.Insights/scheduledQueryRules"
    }


def test_main_deploys_the_alerts_on_the_workspace(bicep_templates: Templates) -> None:
    module = template_of(bicep_templates, "main.bicep")["modules"]["alerts"]
    assert module["detail"]["path"] == "core/alerts.bicep"
    params = module["config"]["params"]
    assert params["logAnalyticsWorkspaceId"]["operator"]["operands"]["operand_1"] == "logAnalytics"
    assert params["alertEmail"] == "alertEmail"
    assert params["lagThresholdMinutes"] == "materializationLagAlertMinutes"


@pytest.mark.parametrize("rule", ["materializationLag", "failedOrchestrations", "dataFaults"])
def test_rule_is_enabled_scoped_and_notifies(bicep_templates: Templates, rule: str) -> None:
    config = _rules(bicep_templates)[rule]
    properties = config["properties"]
    assert config["kind"] == "LogAlert"
    assert properties["enabled"] is True
    assert properties["scopes"] == ["logAnalyticsWorkspaceId"]
    (criterion,) = properties["criteria"]["allOf"]
    assert (criterion["timeAggregation"], criterion["operator"], criterion["threshold"]) == ("Count", "GreaterThan", 0)
    (group,) = properties["actions"]["actionGroups"]
    assert group["operator"]["operands"] == {"operand_1": "actionGroup", "operand_2": "id"}


def test_three_rules_exactly(bicep_templates: Templates) -> None:
    assert set(_rules(bicep_templates)) == {"materializationLag", "failedOrchestrations", "dataFaults"}


def test_data_faults_query_watches_what_the_code_logs() -> None:
    """A failed history write (its log record's event) and a quarantine warning (its message) reach the rule."""
    from domain.change_feed import HISTORY_WRITE_FAILED

    query = (QUERIES / "data-faults.kql").read_text(encoding="utf-8")
    assert f'tostring(Properties.event) == "{HISTORY_WRITE_FAILED}"' in query
    (phrase,) = re.findall(r'Message has "([^"]+)"', query)
    activities = (REPO / "activities" / "materialize.py").read_text(encoding="utf-8")
    assert re.search(r"log\.warning\(\s*\"[^\"]*" + re.escape(phrase), activities), phrase


def test_lag_query_watches_the_line_the_commit_activity_logs() -> None:
    query = (QUERIES / "materialization-lag.kql").read_text(encoding="utf-8")
    (prefix,) = re.findall(r'Message startswith "([^"]+)"', query)
    activities = (REPO / "activities" / "materialize.py").read_text(encoding="utf-8")
    # The commit activity's log call, as written (a renamed message would silence the alert).
    assert re.search(r'log\.info\(\s*"' + re.escape(prefix), activities), prefix
    # Fires when the last commit is too old or missing from the window.
    assert "__LAG_THRESHOLD_MINUTES__" in query
    assert "isnull(lag_minutes)" in query


def test_lag_threshold_is_substituted(bicep_templates: Templates) -> None:
    query = _rules(bicep_templates)["materializationLag"]["properties"]["criteria"]["allOf"][0]["query"]
    replaced = query["function"]
    assert replaced["type"] == "replace"
    assert "__LAG_THRESHOLD_MINUTES__" in str(replaced["parameters"])


def test_failed_orchestration_query_reads_the_durable_extension_errors() -> None:
    query = (QUERIES / "failed-orchestrations.kql").read_text(encoding="utf-8")
    assert "SeverityLevel >= 3" in query
    assert '"Host.Triggers.DurableTask"' in query
    assert '"(Orchestrator)"' in query  # orchestrations, not the activity failures a retry absorbs
