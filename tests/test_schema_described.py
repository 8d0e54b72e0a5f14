"""Every key of the config schema says what it is: a walk of workflow/schemas/config.schema.yaml (every
properties entry, inside items, additionalProperties, $defs and oneOf/anyOf/allOf too) finds no key without a
description, so a key added later without one fails here."""
import yaml

from conftest import REPO

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"


def undescribed(node, path=""):
    """Dotted paths of the keys under this schema node that have no non-empty description."""
    if isinstance(node, list):
        return [p for sub in node for p in undescribed(sub, path)]
    if not isinstance(node, dict):
        return []
    out = []
    for key, sub in (node.get("properties") or {}).items():
        where = f"{path}.{key}" if path else key
        if not (isinstance(sub, dict) and str(sub.get("description", "")).strip()):
            out.append(where)
        out += undescribed(sub, where)
    for name, sub in (node.get("$defs") or {}).items():
        out += undescribed(sub, f"$defs.{name}")
    out += undescribed(node.get("items"), f"{path}[]")
    out += undescribed(node.get("additionalProperties"), f"{path}.*")
    for combo in ("oneOf", "anyOf", "allOf"):
        out += undescribed(node.get(combo), path)
    return out


def test_every_schema_key_has_a_description():
    missing = undescribed(yaml.safe_load(SCHEMA.read_text()))
    assert not missing, f"{SCHEMA.relative_to(REPO)}: keys without a description: {', '.join(missing)}"


def test_the_walk_finds_keys_without_a_description_at_any_depth():
    schema = {"properties": {
        "a": {"type": "object", "description": "x", "properties": {"b": {"type": "integer"}}},
        "c": {"type": "array", "description": "y", "items": {"properties": {"d": {"type": "string", "description": " "}}}},
        "e": {"description": "z", "oneOf": [{"properties": {"f": {}}}, {"type": "null"}]},
    }}
    assert undescribed(schema) == ["a.b", "c[].d", "e.f"]
