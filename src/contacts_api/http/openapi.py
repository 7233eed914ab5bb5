"""The OpenAPI document, made from the endpoint declarations.

Each operation's parameters come from its request model (each parameter's schema and
description from its `ParamType`), its success schema from the model its handler returns, and
its error statuses from the codes the endpoint can answer (each code's description from
`ErrorCode`). FastAPI's generator turns the response models into JSON Schema components.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from starlette.responses import Response

from contacts_api.errors import ErrorCode
from contacts_api.fields.core import COMPONENTS, ParamType, RequestModel
from contacts_api.http.endpoints import Endpoint
from contacts_api.http.envelope import CODE_LIST, CsvFile, ErrorResponse
from contacts_api.http.params import FORM_CONTENT_TYPE

SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <key>"},
    "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    "apiKeyQuery": {
        "type": "apiKey",
        "in": "query",
        "name": "apikey",
        "description": "For legacy clients; never logged.",
    },
}
ERROR_CONTENT = {"application/json": {"schema": {"$ref": COMPONENTS + "ErrorResponse"}}}
# What any request can be answered, whatever its path.
EDGE_CODES = (
    ErrorCode.BAD_REQUEST,
    ErrorCode.REQUEST_TOO_LARGE,
    ErrorCode.URI_TOO_LONG,
    ErrorCode.INTERNAL_ERROR,
)
RETRY_AFTER = {
    "description": "Seconds to wait before retrying.",
    "required": True,
    "schema": {"type": "integer", "minimum": 0},
}
# From an operation that creates something to the GET operations that take its new ID.
LINKS = {
    "createContact": (
        "/contact/controlcontact",
        "contact",
        (
            "viewContact",
            "updateContact",
            "optoutContact",
            "optinContact",
            "addGroup",
            "removeGroup",
            "deleteContact",
        ),
    ),
    "createGroup": (
        "/group/controlgroup",
        "group",
        ("viewGroup", "updateGroup", "addGroup", "removeGroup", "deleteGroup"),
    ),
}


async def _documented() -> None:
    """Stands in for a handler in FastAPI's generator (the real one takes no FastAPI params)."""


def _parameters(model: type[RequestModel]) -> list[dict[str, Any]]:
    required = model.required()
    return [
        {
            "name": name,
            "in": "query",
            "required": name in required,
            "description": param.description,
            "schema": param.ref,
        }
        for name, param in model.params().items()
    ]


def _form_body(model: type[RequestModel]) -> dict[str, Any]:
    """The same parameters as a form body, one named schema per request model."""
    return {
        "required": True,
        "content": {FORM_CONTENT_TYPE: {"schema": {"$ref": COMPONENTS + model.__name__ + "Form"}}},
    }


def _form_schema(model: type[RequestModel]) -> dict[str, Any]:
    return {
        "title": model.__name__ + "Form",
        "type": "object",
        "properties": {name: param.ref for name, param in model.params().items()},
        "required": model.required(),
    }


def _upload_body(model: type[RequestModel] | None) -> dict[str, Any]:
    """An upload's file: the CSV as the body, or the multipart part `file` after the options."""
    options = model.params() if model is not None else {}
    csv_file = {
        "type": "string",
        "format": "binary",  # bytes as they are: generators take it for a file
        "description": "The CSV file: UTF-8, a header row naming the columns, then data rows.",
        "examples": ["fullname,email,custom1\r\nJens Jensen,jens@example.com,VIP\r\n"],
    }
    form = {
        "type": "object",
        "properties": {
            **{name: param.ref for name, param in options.items()},
            "file": csv_file,
        },
        "required": ["file"],
    }
    return {
        "required": True,
        "content": {
            "text/csv": {"schema": csv_file},
            "multipart/form-data": {
                "schema": form,
                "encoding": {"file": {"contentType": "text/csv"}},
            },
        },
    }


CSV_MEDIA_TYPE = "text/csv"  # the answer's header adds `; charset=utf-8`


class _CsvResponse(Response):
    """Stands in for a CSV answer in FastAPI's generator: its 200 is `text/csv`, a string."""

    media_type = CSV_MEDIA_TYPE


def _responses(endpoint: Endpoint) -> dict[int | str, dict[str, Any]]:
    by_status: dict[int, list[ErrorCode]] = {}
    for code in (*endpoint.codes, *EDGE_CODES):
        by_status.setdefault(code.status, []).append(code)
    # FastAPI writes a `model` under the operation's own media type: a CSV operation's errors
    # (JSON envelopes) name their content instead.
    file = endpoint.response_model
    csv = issubclass(file, CsvFile)
    schema: dict[str, Any] = {"content": ERROR_CONTENT} if csv else {"model": ErrorResponse}
    responses: dict[int | str, dict[str, Any]] = {
        status: {
            **schema,
            "description": "\n".join(f"- `{code}`: {code.description}" for code in codes),
        }
        for status, codes in sorted(by_status.items())
    }
    if issubclass(file, CsvFile):
        responses[200] = {"content": {CSV_MEDIA_TYPE: {"example": file.example}}}
    return responses


def _success(endpoint: Endpoint) -> dict[str, Any]:
    """How FastAPI's generator documents the success: an envelope model, or a CSV file."""
    response = endpoint.response_model
    if issubclass(response, CsvFile):
        return {"response_class": _CsvResponse, "response_description": response.description}
    return {"response_model": response, "response_description": f"`{response.code}`"}


def _routes(endpoints: Iterable[Endpoint]) -> Iterator[APIRoute]:
    for endpoint in endpoints:
        model = endpoint.request_model
        for method in endpoint.methods:
            extra: dict[str, Any] = {}
            if endpoint.upload:
                extra["requestBody"] = _upload_body(model)
                if model is not None:
                    extra["parameters"] = _parameters(model)
            elif model is not None and method == "POST":
                extra["requestBody"] = _form_body(model)
            elif model is not None:
                extra["parameters"] = _parameters(model)
            if not endpoint.public:
                extra["security"] = [{name: []} for name in SECURITY_SCHEMES]
            yield APIRoute(
                endpoint.path,
                _documented,
                methods=[method],
                operation_id=endpoint.operation_id
                + ("Post" if method == "POST" and len(endpoint.methods) > 1 else ""),
                summary=endpoint.summary,
                description=endpoint.description,
                tags=[endpoint.tag],
                responses=_responses(endpoint),
                **_success(endpoint),
                openapi_extra=extra,
            )


def _links(operation_id: str) -> dict[str, Any] | None:
    """Links pass the new ID as a query parameter: a link cannot name one field of a form
    body (its `requestBody` would be sent literally), so only GET operations are linked."""
    if operation_id not in LINKS:
        return None
    pointer, parameter, targets = LINKS[operation_id]
    value = "$response.body#" + pointer
    return {target: {"operationId": target, "parameters": {parameter: value}} for target in targets}


def _complete(document: dict[str, Any], endpoints: list[Endpoint]) -> None:
    components = document.setdefault("components", {})
    components["securitySchemes"] = SECURITY_SCHEMES
    schemas = components.setdefault("schemas", {})
    schemas["ErrorCode"] = CODE_LIST
    for param in _param_types(endpoints):
        assert schemas.setdefault(param.name, param.component) == param.component, param.name
    for endpoint in endpoints:
        if (
            endpoint.request_model is not None
            and "POST" in endpoint.methods
            and not endpoint.upload
        ):
            form = _form_schema(endpoint.request_model)
            schemas[form["title"]] = form
    for operations in document["paths"].values():
        for operation in operations.values():
            responses = operation["responses"]
            if "503" in responses:
                responses["503"]["headers"] = {"Retry-After": RETRY_AFTER}
            links = _links(operation["operationId"].removesuffix("Post"))
            if links:
                responses["200"]["links"] = links
    missing = {ref for ref in _references(document) if ref.removeprefix(COMPONENTS) not in schemas}
    assert not missing, f"references to schemas that are not in the document: {missing}"


def _param_types(endpoints: list[Endpoint]) -> list[ParamType]:
    found: dict[str, ParamType] = {}
    for endpoint in endpoints:
        if endpoint.request_model is not None:
            for param in endpoint.request_model.params().values():
                found.setdefault(param.name, param)
    return [found[name] for name in sorted(found)]


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _references(value)
    elif isinstance(node, list):
        for item in node:
            yield from _references(item)


def build_document(
    endpoints: list[Endpoint], *, title: str, version: str, description: str, root_path: str
) -> dict[str, Any]:
    document = get_openapi(
        title=title,
        version=version,
        description=description,
        routes=list(_routes(endpoints)),
        servers=[{"url": root_path}] if root_path else None,
    )
    _complete(document, endpoints)
    return document


def document_json(document: dict[str, Any]) -> str:
    """The document as exported to openapi.json: sorted keys, indented, a trailing newline."""
    return json.dumps(document, indent=2, sort_keys=True) + "\n"
