"""Offline ARM schema validation of the resource bodies of the Bicep templates.

The official ARM JSON schemas (`../shared/tools/arm-schemas/<apiVersion>/<Provider>*.json`, see its README)
are read as JSON Schema draft 4. Two things turn them into a strict check:
- they never say `additionalProperties: false`, so an unknown property would pass; `strict()` adds it to
  every object schema that lists its properties;
- a Bicep body is not ARM JSON; `to_arm()` turns pycep's parse tree into what the Bicep compiler emits:
  every expression (parameter, variable, function call, operator, interpolation) becomes an ARM
  expression string `[...]`, which the schemas accept wherever a value may be an expression, and a
  `for` property loop becomes a one-item array of its body. A ternary yields two bodies (true branch,
  false branch) so that both literals get validated.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from tests.support.bicep import REPO

SHARED_TOOLS = REPO.parent / "shared" / "tools"
ARM_SCHEMAS = SHARED_TOOLS / "arm-schemas"
AZD_SCHEMA = ARM_SCHEMAS / "azd-azure.yaml.schema.json"
COMMON_URI = "https://schema.management.azure.com/schemas/common/definitions.json"
EXPRESSION = "[expression]"

# Bicep-only keys of a resource body (the compiler moves them out of the ARM resource body).
BICEP_KEYS = {"parent", "scope", "dependsOn"}

# Where a resource type is declared in a provider file, by the template's target scope.
DEFINITION_GROUPS = {
    "resourceGroup": ("resourceDefinitions", "extension_resourceDefinitions", "unknown_resourceDefinitions"),
    "subscription": ("subscription_resourceDefinitions", "resourceDefinitions"),
}


# Keywords whose value maps names to schemas.
SCHEMA_MAPS = {"properties", "definitions", "patternProperties"} | {
    group for groups in DEFINITION_GROUPS.values() for group in groups
}


def require_arm_schemas() -> None:
    if not ARM_SCHEMAS.is_dir():
        pytest.skip(f"ARM schemas not found at {ARM_SCHEMAS}: run from a checkout next to ../shared/tools")


def strict(schema: Any) -> Any:
    """The schema with `additionalProperties: false` on every object schema that lists its properties."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = dict(schema)
    for keyword in SCHEMA_MAPS:
        if isinstance(result.get(keyword), dict):
            result[keyword] = {name: strict(sub) for name, sub in result[keyword].items()}
    for keyword in ("items", "additionalProperties", "not"):
        if isinstance(result.get(keyword), dict | list):
            result[keyword] = strict(result[keyword])
    for keyword in ("oneOf", "anyOf", "allOf"):
        if isinstance(result.get(keyword), list):
            result[keyword] = [strict(sub) for sub in result[keyword]]
    combined = any(keyword in result for keyword in ("oneOf", "anyOf", "allOf"))
    if isinstance(result.get("properties"), dict) and "additionalProperties" not in result and not combined:
        result["additionalProperties"] = False
    return result


def _allow_type_in_branches(contents: dict[str, Any]) -> None:
    """Definitions that branch on the name (sites/config: web, appsettings, ...) list `type` and
    `apiVersion` in no branch; the resource body carries them, so each strict branch must allow them."""
    for group in SCHEMA_MAPS - {"properties", "definitions", "patternProperties"}:
        for definition in contents.get(group, {}).values():
            for branch in definition.get("oneOf", []):
                if isinstance(branch.get("properties"), dict):
                    branch["properties"].setdefault("type", {"type": "string"})
                    branch["properties"].setdefault("apiVersion", {"type": "string"})


@dataclass(frozen=True)
class Located:
    uri: str
    group: str
    key: str


class ArmSchemas:
    """The stored ARM schemas, strict, in one registry; `validator(type, apiVersion, scope)` per resource."""

    def __init__(self, root: Path = ARM_SCHEMAS) -> None:
        self.root = root
        common = json.loads((root / "common" / "definitions.json").read_text(encoding="utf-8"))
        resources = [(COMMON_URI, Resource.from_contents(common, default_specification=DRAFT4))]
        self.files: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for path in sorted(root.glob("20*/*.json")):
            contents = strict(json.loads(path.read_text(encoding="utf-8")))
            _allow_type_in_branches(contents)
            uri = str(contents["id"]).rstrip("#")
            resources.append((uri, Resource.from_contents(contents, default_specification=DRAFT4)))
            self.files.setdefault(path.parent.name, []).append((uri, contents))
        self.registry: Registry[Any] = Registry().with_resources(resources)

    def locate(self, resource_type: str, api_version: str, scope: str) -> Located | None:
        namespace, *segments = resource_type.split("/")
        key = "_".join(segments)
        for uri, contents in self.files.get(api_version, []):
            if not uri.split("/")[-1].startswith(namespace + "."):
                continue
            for group in DEFINITION_GROUPS[scope]:
                if key in contents.get(group, {}):
                    return Located(uri, group, key)
        return None

    def validator(self, located: Located) -> Draft4Validator:
        schema = {"$ref": f"{located.uri}#/{located.group}/{located.key}"}
        return Draft4Validator(schema, registry=self.registry)


def _causes(error: ValidationError) -> list[ValidationError]:
    """The leaf errors under a `oneOf`/`anyOf`, leaving out the "or an expression" branch."""
    if not error.context:
        return [error]
    branches = error.validator_value if isinstance(error.validator_value, list) else []
    by_branch: dict[Any, list[ValidationError]] = {}
    for sub in error.context:
        index = sub.relative_schema_path[0] if sub.relative_schema_path else None
        branch = branches[index] if isinstance(index, int) and index < len(branches) else {}
        if not str(branch.get("$ref", "")).endswith("/definitions/expression"):
            by_branch.setdefault(index, []).extend(_causes(sub))
    # Definitions that branch on the name (sites/config: web, appsettings, ...): report the branch the
    # name selects, not every other branch's complaints.
    selected = [errors for errors in by_branch.values() if not any(_is_name_mismatch(e) for e in errors)]
    causes = [cause for errors in (selected or list(by_branch.values())) for cause in errors]
    return causes or [best_match(error.context) or error]


def _is_name_mismatch(error: ValidationError) -> bool:
    return error.json_path == "$.name" and error.validator == "pattern"


def errors_of(validator: Draft4Validator, body: dict[str, Any]) -> list[str]:
    """One readable line per leaf error (under `oneOf` of value or expression, the value's errors)."""
    lines: list[str] = []
    for error in validator.iter_errors(body):
        if error.validator == "oneOf" and error.instance == EXPRESSION and not error.context:
            continue  # an expression also matches the literal branch of `oneOf` (value or expression)
        lines.extend(f"{cause.json_path}: {cause.message[:300]}" for cause in _causes(error))
    return sorted(set(lines))


def symbols_of(template: dict[str, Any]) -> set[str]:
    """Every name a bare string in pycep's tree may stand for (pycep drops the quotes of literals)."""
    names: set[str] = set()
    for section in ("parameters", "variables", "resources", "modules"):
        names |= set(template.get(section, {}))

    def loops(node: Any) -> None:
        if isinstance(node, dict):
            detail = node.get("loop_type", {}).get("detail", {}) if isinstance(node.get("loop_type"), dict) else {}
            names.update(value for key, value in detail.items() if key in ("item_name", "index_name") and value)
            for value in node.values():
                loops(value)
        elif isinstance(node, list):
            for value in node:
                loops(value)

    loops(template)
    return names


def _key(key: str) -> str:
    if key.startswith("'") and key.endswith("'"):
        key = key[1:-1]
    return f"[{key}]" if "${" in key else key


def to_arm(node: Any, symbols: set[str], branch: bool) -> Any:
    """pycep's tree of a value -> ARM JSON, expressions as `[...]`; `branch` picks each ternary's side."""
    if isinstance(node, str):
        return EXPRESSION if "${" in node or node in symbols else node
    if isinstance(node, list):
        return [to_arm(item, symbols, branch) for item in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"operator"}:
        operator = node["operator"]
        if operator["type"] == "conditional":
            side = operator["operands"]["true_value" if branch else "false_value"]
            return to_arm(side, symbols, branch)
        return EXPRESSION
    if set(node) == {"function"}:
        return EXPRESSION
    if "loop_type" in node and "config" in node:
        return [to_arm(node["config"], symbols, branch)]
    return {_key(key): to_arm(value, symbols, branch) for key, value in node.items()}


@dataclass(frozen=True)
class ResourceBody:
    file: str
    symbol: str
    type: str
    api_version: str
    scope: str
    bodies: tuple[dict[str, Any], ...]


def resource_bodies(file: str, template: dict[str, Any]) -> Iterator[ResourceBody]:
    """Every deployed (not `existing`) resource of one template, as the ARM bodies it may produce."""
    symbols = symbols_of(template)
    scope = template.get("globals", {}).get("scope", {}).get("value", "resourceGroup")
    for symbol, resource in template.get("resources", {}).items():
        if resource.get("existing"):
            continue
        config = resource["config"]
        while "config" in config and ("loop_type" in config or "condition" in config):
            config = config["config"]  # `[for ...: ...]` and `if (...)` wrap the body
        bodies = []
        for branch in (True, False):
            body = {key: value for key, value in config.items() if key not in BICEP_KEYS}
            arm = to_arm(copy.deepcopy(body), symbols, branch)
            if "parent" in config and isinstance(arm.get("name"), str) and arm["name"] != EXPRESSION:
                # The compiler emits format('{0}/{1}', parent, name); schemas match the full name's suffix.
                arm["name"] = f"parent/{arm['name']}"
            arm.update(type=resource["type"], apiVersion=resource["api_version"])
            if arm not in bodies:
                bodies.append(arm)
        yield ResourceBody(file, symbol, resource["type"], resource["api_version"], scope, tuple(bodies))
