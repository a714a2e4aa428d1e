"""JSON-schema constrained output: shared checks and normalisation of what the decoders emit."""

from __future__ import annotations

import json
from typing import Any


def normalise_json(text: str) -> str:
    """Re-serialise constrained-decoder output as strict JSON.

    Grammar engines keep the output inside the schema, but some let raw control characters
    (U+0000-U+001F) into strings, which strict JSON forbids; parsing leniently and dumping again
    escapes them. Raises ``ValueError`` when the text is not JSON at all (e.g. cut by a length limit).
    """
    try:
        value = json.loads(text, strict=False)
    except json.JSONDecodeError as exc:
        raise ValueError(f"output is not complete JSON ({exc.msg} at char {exc.pos})") from exc
    return json.dumps(value, ensure_ascii=False)


def finish_json(result) -> None:
    """Normalise a schema-constrained ``GenerationResult`` in place, or set its error (cut output)."""
    try:
        result.text = normalise_json(result.text or "")
    except ValueError as exc:
        cut = " (cut at max_new_tokens; raise it)" if result.finish_reason == "length" else ""
        result.error = f"{exc}{cut}"


def schema_for_response_format(schema: dict[str, Any], name: str = "rescap_output") -> dict[str, Any]:
    """An OpenAI ``response_format`` asking for JSON valid against ``schema``."""
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}


def token_budget(schema: dict[str, Any], tokens_per_char: float = 1.0) -> int:
    """An upper bound on the tokens a schema-constrained reply can take, when strings and arrays
    are bounded (``maxLength``, ``maxItems``, enums, bounded integers); unbounded parts count 64.

    Example:
        >>> token_budget({"type": "object", "properties": {"a": {"type": "string", "maxLength": 10}}})
        21
    """

    def size(node: dict[str, Any]) -> float:
        if "enum" in node:
            return max(len(json.dumps(v)) for v in node["enum"]) * tokens_per_char
        if "const" in node:
            return len(json.dumps(node["const"])) * tokens_per_char
        kind = node.get("type")
        if kind == "string":
            return (node.get("maxLength", 64) + 2) * tokens_per_char
        if kind in ("integer", "number"):
            bound = max(abs(node.get("minimum", -1e9)), abs(node.get("maximum", 1e9)))
            return len(str(int(bound))) + (8 if kind == "number" else 1)
        if kind == "boolean":
            return 5
        if kind == "null":
            return 4
        if kind == "array":
            return 2 + node.get("maxItems", 16) * (size(node.get("items", {})) + 1)
        if kind == "object":
            props = node.get("properties", {})
            return 2 + sum(len(k) + 4 + size(v) for k, v in props.items())
        if "anyOf" in node or "oneOf" in node:
            return max(size(n) for n in node.get("anyOf", node.get("oneOf")))
        return 64

    return int(size(schema)) + 2
