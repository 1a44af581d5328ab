"""The OpenAPI document covers every route and method Falcon serves."""

from __future__ import annotations

import re

from craton.api import create_app

from .routes import served


def test_every_served_route_and_method_is_documented(svc, app_client):
    doc = app_client.simulate_get("/v1/openapi.json").json
    assert doc["openapi"].startswith("3.1")
    routes = served(create_app(svc))
    assert len(routes) > 50
    for template, _resource, methods in routes:
        path = re.sub(r"{(\w+)(?::\w+)?}", r"{\1}", template)
        assert path in doc["paths"], path
        assert sorted(doc["paths"][path]) == sorted(m.lower() for m in methods), path


def test_bodies_and_query_strings_come_from_the_validating_schemas(app_client):
    doc = app_client.simulate_get("/v1/openapi.json").json
    post = doc["paths"]["/v1/hosts"]["post"]
    ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"name", "region_id"}
    assert schema["properties"]["active"]["type"] == ["boolean", "null"]
    names = {p["name"] for p in doc["paths"]["/v1/hosts"]["get"]["parameters"]}
    assert {"limit", "marker", "vars", "label", "resolved-values", "as_of",
            "sort_keys"} <= names
    responses = doc["paths"]["/v1/hosts/{id}"]["put"]["responses"]
    assert {"200", "400", "401", "403", "404", "409", "412", "413", "415"} <= set(responses)
    policy = doc["components"]["schemas"]["NewInstanceGroup"]["properties"]["policy"]
    assert "anti-affinity" in policy["enum"]
