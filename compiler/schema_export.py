"""The JSON Schema of the spec format, as checked in under schemas/ and printed by `aispec schema`."""

from __future__ import annotations

import json

from aispec.schemas.spec import Spec

SCHEMA_FILE = "aispec-spec-v1.schema.json"


def schema_dict() -> dict[str, object]:
    schema = Spec.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def schema_text() -> str:
    return json.dumps(schema_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
