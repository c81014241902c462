"""The JSON Schema of the flow language, generated from the flow and step models, for editors."""

from __future__ import annotations

from typing import Any

from bastidor.actions.registry import ActionSpec, all_actions
from bastidor.flow.model import FlowHeader
from bastidor.flow.retry_policy import RetryPolicy

SCHEMA_ID = "https://bastidor.dev/schema/flow-v1.json"
_REF = "#/$defs/{model}"
_STEPS = {"type": "array", "items": {"$ref": "#/$defs/Step"}}


def flow_json_schema() -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) describing a flow file and every step type."""
    schema = FlowHeader.model_json_schema(ref_template=_REF)
    defs: dict[str, Any] = schema.pop("$defs", {})
    retry = RetryPolicy.model_json_schema(ref_template=_REF)
    defs.update(retry.pop("$defs", {}))
    defs["RetryPolicy"] = retry
    variants = [_step_variant(spec, defs) for _, spec in sorted(all_actions().items())]
    defs["Step"] = {"description": "One step: an action key with its settings.", "anyOf": variants}
    schema["properties"]["steps"] = dict(_STEPS, description="The steps, in order.")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            "title": "Bastidor flow", **schema, "$defs": defs}


def _step_variant(spec: ActionSpec, defs: dict[str, Any]) -> dict[str, Any]:
    params = spec.params.model_json_schema(ref_template=_REF)
    defs.update(params.pop("$defs", {}))
    props = dict(params.get("properties", {}))
    required = [key for key in params.get("required", []) if key not in spec.blocks]
    for block in spec.blocks:
        props[block] = dict(_STEPS, description=props.get(block, {}).get("description", ""))
    common = {"name": {"type": "string", "description": "A name for the step in logs and reports."},
              "retry": {"$ref": "#/$defs/RetryPolicy"}}
    if spec.shorthand == spec.name:
        return {"type": "object", "description": spec.summary, "properties": {**props, **common},
                "required": sorted(set(required) | {spec.name}), "additionalProperties": False}
    mapping = {"type": "object", "properties": props, "required": required,
               "additionalProperties": params.get("additionalProperties", False)}
    value = {"anyOf": [mapping, props[spec.shorthand]]} if spec.shorthand else mapping
    return {"type": "object", "description": spec.summary,
            "properties": {spec.name: value, **common}, "required": [spec.name],
            "additionalProperties": False}
