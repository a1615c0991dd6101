"""The published OpenAPI document describes the API as it answers: envelopes, errors, security and bodies."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


async def openapi(client: httpx.AsyncClient) -> dict[str, Any]:
    answer = await client.get("/openapi.json")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def v1_operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in document["paths"].items():
        if path.startswith("/v1"):
            for method, operation in operations.items():
                if method in HTTP_METHODS:
                    yield method.upper(), path, operation


def json_schema(response: dict[str, Any]) -> dict[str, Any]:
    return dict(response.get("content", {}).get("application/json", {}).get("schema", {}))


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    reference = schema.get("$ref")
    if reference is None:
        return schema
    prefix = "#/components/schemas/"
    assert reference.startswith(prefix), reference
    return dict(document["components"]["schemas"][reference.removeprefix(prefix)])


def is_enveloped(operation: dict[str, Any]) -> bool:
    """Operations behind a bearer token answer in the JSend envelope (the token endpoint answers OAuth2)."""
    return any("HTTPBearer" in requirement for requirement in operation.get("security", []))


async def test_the_document_is_openapi_3_1(client: httpx.AsyncClient):
    document = await openapi(client)
    assert document["openapi"].startswith("3.1.")
    assert document["info"]["title"] == "Loyalty Engine"
    assert len(list(v1_operations(document))) >= 15


async def test_every_v1_operation_documents_a_success_with_a_schema(client: httpx.AsyncClient):
    document = await openapi(client)
    missing = []
    for method, path, operation in v1_operations(document):
        # 200, or 201 where WLL answers 201 (POST /v1/settings, POST /v1/rewards/{rewardId}/discounts).
        responses = operation["responses"]
        schema = json_schema(responses.get("200") or responses.get("201") or {})
        if not ("$ref" in schema or "type" in schema):
            missing.append(f"{method} {path}")
    assert missing == []


async def test_every_v1_operation_documents_a_client_error(client: httpx.AsyncClient):
    document = await openapi(client)
    missing = [
        f"{method} {path}"
        for method, path, operation in v1_operations(document)
        if not any(str(status).startswith("4") for status in operation["responses"])
    ]
    assert missing == []


async def test_enveloped_operations_document_failures_as_fail_and_500_as_server_error(client: httpx.AsyncClient):
    document = await openapi(client)
    enveloped = [(m, p, o) for m, p, o in v1_operations(document) if is_enveloped(o)]
    assert len(enveloped) >= 14
    for method, path, operation in enveloped:
        responses = operation["responses"]
        assert {"401", "403", "500"} <= set(responses), f"{method} {path}"
        for status, response in responses.items():
            if status.startswith("4"):
                assert json_schema(response) == {"$ref": "#/components/schemas/Fail"}, f"{method} {path} {status}"
        assert json_schema(responses["500"]) == {"$ref": "#/components/schemas/ServerError"}, f"{method} {path}"


async def test_operations_with_a_body_or_parameters_document_400(client: httpx.AsyncClient):
    document = await openapi(client)
    missing = [
        f"{method} {path}"
        for method, path, operation in v1_operations(document)
        if is_enveloped(operation)
        and ("requestBody" in operation or any(p["in"] == "query" for p in operation.get("parameters", [])))
        and "400" not in operation["responses"]
    ]
    assert missing == []


async def test_no_operation_documents_the_framework_422_validation_error(client: httpx.AsyncClient):
    document = await openapi(client)
    for method, path, operation in v1_operations(document):
        answer = operation["responses"].get("422")
        if answer is not None:
            assert json_schema(answer) == {"$ref": "#/components/schemas/Fail"}, f"{method} {path}"
    assert "HTTPValidationError" not in document["components"]["schemas"]


async def test_the_fail_and_error_envelopes_are_described(client: httpx.AsyncClient):
    schemas = (await openapi(client))["components"]["schemas"]
    assert set(schemas["Fail"]["required"]) == {"message", "data"}
    assert set(schemas["Fail"]["properties"]) == {"status", "message", "data"}
    assert schemas["Fail"]["properties"]["status"]["const"] == "fail"
    assert "code" in schemas["FailData"]["required"]
    assert schemas["ServerError"]["properties"]["status"]["const"] == "error"


async def test_list_operations_document_the_page_meta(client: httpx.AsyncClient):
    document = await openapi(client)
    page = resolve(document, json_schema(document["paths"]["/v1/users"]["get"]["responses"]["200"]))
    assert {"status", "data", "meta"} <= set(page["properties"])
    meta = resolve(document, page["properties"]["meta"])
    assert set(meta["required"]) == {"limit", "skip", "total"}
    parameters = {p["name"]: p for p in document["paths"]["/v1/users"]["get"]["parameters"]}
    assert {"limit", "skip", "order"} <= set(parameters)
    assert parameters["limit"]["schema"]["minimum"] == 1
    assert parameters["limit"]["schema"]["maximum"] == 1000


async def test_the_security_schemes_are_the_api_key_header_and_bearer(client: httpx.AsyncClient):
    schemes = (await openapi(client))["components"]["securitySchemes"]
    api_keys = [s for s in schemes.values() if s["type"] == "apiKey"]
    assert api_keys == [{**api_keys[0], "type": "apiKey", "in": "header", "name": "X-Api-Key"}]
    bearers = [s for s in schemes.values() if s["type"] == "http"]
    assert len(bearers) == 1
    assert bearers[0]["scheme"] == "bearer"


async def test_every_v1_operation_names_the_api_key(client: httpx.AsyncClient):
    document = await openapi(client)
    missing = [
        f"{method} {path}"
        for method, path, operation in v1_operations(document)
        if not any("APIKeyHeader" in requirement for requirement in operation.get("security", []))
    ]
    assert missing == []
    token = document["paths"]["/v1/oauth/token"]["post"]
    assert not is_enveloped(token)


async def test_post_users_takes_the_user_definition(client: httpx.AsyncClient):
    document = await openapi(client)
    body = document["paths"]["/v1/users"]["post"]["requestBody"]
    assert body["required"] is True
    assert json_schema(body) == {"$ref": "#/components/schemas/UserDefinition"}
    definition = document["components"]["schemas"]["UserDefinition"]
    assert definition["required"] == ["profile"]
    assert definition["additionalProperties"] is False
    assert set(definition["properties"]) == {"profile", "authIdentifier", "externalIdentifier", "flags", "isRestricted"}
    profile = resolve(document, definition["properties"]["profile"])
    assert set(profile["required"]) == {"givenName", "familyName", "emailAddress"}
    assert profile["additionalProperties"] is False
    assert profile["properties"]["givenName"]["maxLength"] == 64


async def test_the_token_endpoint_documents_form_and_json_bodies(client: httpx.AsyncClient):
    document = await openapi(client)
    operation = document["paths"]["/v1/oauth/token"]["post"]
    content = operation["requestBody"]["content"]
    reference = {"$ref": "#/components/schemas/TokenRequest"}
    assert content["application/x-www-form-urlencoded"]["schema"] == reference
    assert content["application/json"]["schema"] == reference
    request = document["components"]["schemas"]["TokenRequest"]
    assert request["properties"]["grant_type"]["enum"] == ["client_credentials"]
    answer = resolve(document, json_schema(operation["responses"]["200"]))
    assert {"access_token", "token_type", "expires_in", "scope"} <= set(answer["properties"])
    assert {"400", "401"} <= set(operation["responses"])


async def test_every_reference_resolves(client: httpx.AsyncClient):
    document = await openapi(client)
    components = document["components"]["schemas"]

    def references(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                yield node["$ref"]
            for value in node.values():
                yield from references(value)
        elif isinstance(node, list):
            for value in node:
                yield from references(value)

    dangling = {r for r in references(document) if r.removeprefix("#/components/schemas/") not in components}
    assert dangling == set()


async def test_operation_ids_are_unique(client: httpx.AsyncClient):
    document = await openapi(client)
    ids = [operation["operationId"] for _, _, operation in v1_operations(document)]
    assert len(ids) == len(set(ids))
