"""Registering an endpoint as the contract wants it: GET with query parameters, plus POST (query
or form body) for endpoints that change data, each with its own operationId, and an OpenAPI
description of its parameters, success shape and every error status it can answer."""

from __future__ import annotations

from collections.abc import Callable
from types import NoneType, UnionType
from typing import Any, get_args

from fastapi import APIRouter
from fastapi.routing import APIRoute
from pydantic import BaseModel

from contacts_api.envelope import ErrorResponse
from contacts_api.openapi import EDGE_RESPONSES, field_schema
from contacts_api.params import FORM_CONTENT_TYPE
from contacts_api.validation import RequestModel

_DESCRIPTIONS = {
    400: "A parameter failed validation (`errors` lists every problem), or "
    + EDGE_RESPONSES["400"],
    401: "`APIKEY_EMPTY` or `APIKEY_INVALID`.",
    404: "The ID is not one of this user's (`CONTACT_NOT_FOUND`, `GROUP_NOT_FOUND`).",
    409: "`MSISDN_EXISTS`: another of the user's contacts has this msisdn.",
    503: "`SERVICE_UNAVAILABLE`: the database cannot be reached; see `Retry-After`.",
}
# Every API endpoint checks the key and uses the database; the statuses any request can get
# (400 BAD_REQUEST, 413, 414, 500) are added to every operation by openapi.py.
_ALWAYS = (401, 503)


def _is_required(annotation: Any) -> bool:
    return NoneType not in get_args(annotation) and not isinstance(annotation, UnionType)


def _properties(model: type[RequestModel]) -> dict[str, dict[str, Any]]:
    """Each field's rule (a reference to its type's schema) with what the field means."""
    return {
        name: {**field_schema(field), "description": field.description or ""}
        for name, field in model.model_fields.items()
    }


def _required(model: type[RequestModel]) -> list[str]:
    return [n for n, f in model.model_fields.items() if _is_required(f.annotation)]


def _query_docs(model: type[RequestModel] | None) -> dict[str, Any]:
    if model is None:
        return {}
    required = _required(model)
    parameters = []
    for name, schema in _properties(model).items():
        description = schema.pop("description")  # the parameter's, not its schema's
        parameters.append(
            {
                "name": name,
                "in": "query",
                "required": name in required,
                "description": description,
                "schema": schema,
            }
        )
    return {"parameters": parameters}


def _form_docs(model: type[RequestModel]) -> dict[str, Any]:
    """The same parameters as a form body, named after the request model (openapi.py moves it
    into the components, so every operation taking it shares one schema)."""
    schema = {
        "title": model.__name__ + "Form",
        "type": "object",
        "properties": _properties(model),
        "required": _required(model),
    }
    return {
        "requestBody": {
            "required": True,
            "content": {FORM_CONTENT_TYPE: {"schema": schema}},
        }
    }


def _responses(statuses: tuple[int, ...]) -> dict[int | str, dict[str, Any]]:
    return {
        status: {"model": ErrorResponse, "description": _DESCRIPTIONS[status]}
        for status in sorted({*statuses, *_ALWAYS})
    }


def methods_by_path(*routers: APIRouter) -> dict[str, list[str]]:
    """Every method each path answers (GET and POST are separate routes), for `Allow`."""
    methods: dict[str, set[str]] = {}
    for router in routers:
        for route in router.routes:
            if isinstance(route, APIRoute):
                methods.setdefault(route.path, set()).update(route.methods or ())
    return {path: sorted(names) for path, names in methods.items()}


def add_endpoint(
    router: APIRouter,
    path: str,
    *,
    operation_id: str,
    summary: str,
    response_model: type[BaseModel],
    request_model: type[RequestModel] | None = None,
    errors: tuple[int, ...] = (),
    changes_data: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    if request_model is not None:
        errors = (400, *errors)

    def register(endpoint: Callable[..., Any]) -> Callable[..., Any]:
        common: dict[str, Any] = {
            "summary": summary,
            "response_model": response_model,
            "responses": _responses(errors),
            "description": endpoint.__doc__,
        }
        router.add_api_route(
            path,
            endpoint,
            methods=["GET"],
            operation_id=operation_id,
            openapi_extra=_query_docs(request_model),
            **common,
        )
        if changes_data:
            assert request_model is not None
            router.add_api_route(
                path,
                endpoint,
                methods=["POST"],
                operation_id=operation_id + "Post",
                openapi_extra=_form_docs(request_model),
                **common,
            )
        return endpoint

    return register
