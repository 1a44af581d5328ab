"""OpenAPI 3.1, generated from the routes and the marshmallow schemas they validate with."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import Schema, fields, validate

from .docs import Op
from .schemas import Error

_TYPES: tuple[tuple[type[fields.Field], dict[str, Any]], ...] = (
    (fields.Boolean, {"type": "boolean"}),
    (fields.Integer, {"type": "integer"}),
    (fields.Float, {"type": "number"}),
    (fields.Number, {"type": "number"}),
    (fields.UUID, {"type": "string", "format": "uuid"}),
    (fields.String, {"type": "string"}),
)
_PARAM = re.compile(r"{(\w+)(?::(\w+))?}")


class Builder:
    """Collects component schemas while converting fields."""

    def __init__(self) -> None:
        self.components: dict[str, Any] = {}

    def ref(self, schema: Schema | type[Schema], *, closed: bool) -> dict[str, Any]:
        instance = schema() if isinstance(schema, type) else schema
        name = type(instance).__name__
        if name not in self.components:
            self.components[name] = {}  # reserve against recursion
            self.components[name] = self.object(instance, closed=closed)
        return {"$ref": f"#/components/schemas/{name}"}

    def object(self, schema: Schema, *, closed: bool) -> dict[str, Any]:
        props: dict[str, Any] = {}
        required: list[str] = []
        for name, f in schema.fields.items():
            key = f.data_key or name
            props[key] = self.field(f, closed=closed)
            if f.required:
                required.append(key)
        out: dict[str, Any] = {"type": "object", "properties": props}
        if required:
            out["required"] = required
        if closed:
            out["additionalProperties"] = False
        return out

    def field(self, f: fields.Field, *, closed: bool) -> dict[str, Any]:
        out: dict[str, Any]
        if isinstance(f, fields.Nested):
            out = self.ref(f.nested, closed=closed)  # type: ignore[arg-type]
        elif isinstance(f, fields.List):
            out = {"type": "array", "items": self.field(f.inner, closed=closed)}
        elif isinstance(f, fields.Dict):
            value = f.value_field
            out = {"type": "object", "additionalProperties":
                   self.field(value, closed=closed) if value is not None else True}
        else:
            out = next((dict(s) for t, s in _TYPES if isinstance(f, t)), {})
        for v in _validators(f):
            out.update(v)
        if f.metadata.get("description"):
            out["description"] = f.metadata["description"]
        default = f.load_default
        if default is not None and not callable(default) and default is not fields.missing_:
            out["default"] = default
        if f.allow_none:
            out = _nullable(out)
        return out


def _validators(f: fields.Field) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for v in f.validators:
        if isinstance(v, validate.OneOf):
            out.append({"enum": list(v.choices)})
        elif isinstance(v, validate.Range):
            bound: dict[str, Any] = {}
            if v.min is not None:
                bound["minimum"] = v.min
            if v.max is not None:
                bound["maximum"] = v.max
            out.append(bound)
        elif isinstance(v, validate.Length):
            prefix = "Items" if isinstance(f, fields.List) else "Length"
            if v.min is not None:
                out.append({f"min{prefix}": v.min})
            if v.max is not None:
                out.append({f"max{prefix}": v.max})
    return out


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if "type" in schema and isinstance(schema["type"], str):
        out = {**schema, "type": [schema["type"], "null"]}
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        return out
    if not schema:
        return schema
    return {"anyOf": [schema, {"type": "null"}]}


def _header(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": False,
            "schema": {"type": "string"}, "description": description}


def operation(b: Builder, path: str, method: str, op: Op) -> dict[str, Any]:
    params: list[dict[str, Any]] = []
    for name, converter in _PARAM.findall(path):
        schema = {"type": "integer", "minimum": 0} if converter == "int" \
            else {"type": "string"}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    if op.params is not None:
        for name, f in op.params.fields.items():
            param = {"name": f.data_key or name, "in": "query", "required": f.required,
                     "schema": b.field(f, closed=True)}
            if isinstance(f, fields.List):
                param.update(style="form", explode=True)
            params.append(param)
    if op.idempotent_key:
        params.append(_header("Idempotency-Key", "a retry with the same key and body "
                                                 "returns the first response"))
    if op.if_match:
        params.append(_header("If-Match", 'the ETag ("<version>") the change expects'))
    if method in ("POST", "PUT", "DELETE"):
        params.append(_header("X-Craton-Reason", "why the change is made"))
    params.append(_header("X-Request-Id", "the caller's request id (one is made otherwise)"))
    headers = {"X-Request-Id": {"schema": {"type": "string"}}}
    success: dict[str, Any] = {"description": op.summary, "headers": headers}
    if op.response is not None:
        success["content"] = {op.media: {"schema": b.ref(op.response, closed=False)}}
    elif op.status != 204:
        success["content"] = {op.media: {"schema": {}}}
    responses: dict[str, Any] = {str(op.status): success}
    codes = set(op.errors) | ({401} if not op.public else set()) | {500}
    for code in sorted(codes):
        responses[str(code)] = {"$ref": f"#/components/responses/E{code}"}
    out: dict[str, Any] = {"summary": op.summary, "operationId": _operation_id(method, path),
                           "parameters": params, "responses": responses}
    if op.body is not None:
        out["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": b.ref(op.body, closed=True)}}}
    if op.public:
        out["security"] = []
    return out


_DESCRIPTIONS = {
    400: "invalid input, every problem listed", 401: "missing or wrong credentials",
    403: "not allowed for this role", 404: "no such resource (or another project's)",
    409: "conflict: a name taken, dependents, a lost race", 412: "If-Match does not match",
    413: "the body is too large", 415: "the body is not JSON",
    422: "no plan satisfies the constraints (the one in the way is named)",
    500: "a bug (logged)",
    503: "not ready",
}


def _operation_id(method: str, path: str) -> str:
    words = [w for w in re.split(r"[/{}:\-.]+", path) if w and w not in ("int",)]
    return method.lower() + "".join(w.capitalize() for w in words)


def document(routes: list[tuple[str, Any]]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route."""
    b = Builder()
    paths: dict[str, Any] = {}
    for path, resource in routes:
        spec_path = _PARAM.sub(lambda m: "{" + m.group(1) + "}", path)
        paths[spec_path] = {method.lower(): operation(b, path, method, op)
                            for method, op in resource.docs.items()}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Craton", "version": "1",
                 "description": "An event-sourced ledger for cloud fleets."},
        "paths": paths,
        "components": {"schemas": b.components, "responses": {
            f"E{code}": {
                "description": text, "headers": {"X-Request-Id": {"schema": {"type": "string"}}},
                "content": {"application/json": {"schema": b.ref(Error, closed=False)}}}
            for code, text in _DESCRIPTIONS.items()}, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "authProject": {"type": "apiKey", "in": "header", "name": "X-Auth-Project"},
            "authUser": {"type": "apiKey", "in": "header", "name": "X-Auth-User"},
            "authToken": {"type": "apiKey", "in": "header", "name": "X-Auth-Token"},
        }},
        "security": [{"bearer": []}, {"authUser": [], "authToken": [], "authProject": []}],
    }
