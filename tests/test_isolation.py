"""Tenant isolation, swept over every operation (contract §2).

For every operation of the OpenAPI document (each path and method) and every ID-bearing
parameter (`contact`, `group`, each position of a `group` list), user B naming one of user A's
IDs gets exactly the answer (status and JSON body, the ID in the echo aside) that an ID that
never existed gets; and neither A's nor B's data changes. Operations without IDs must show B
only B's data. The operations are read from the document, and the document is checked against
the app's routes, so a new endpoint or parameter cannot be missed silently.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from contacts_api.config import Settings
from contacts_api.http.app import ContactsApi
from contacts_api.main import create_app
from tests.conftest import Api, User

NEVER = 2**63 - 1  # IDs come from sequences: this one never exists
ID_PARAMETERS = ("contact", "group")
LIST_LENGTH = 3  # a `group` list probed at each position
# Every other parameter an operation may take, with a value B sends for it.
OTHER_PARAMETERS = {
    "fullname": "B's new contact",
    "street": "Bstreet 1",
    "zipcode": "1000",
    "msisdn": None,  # optional: left out, so repeated creates never collide
    "email": None,
    "birthday": None,
    "sex": None,
    "custom1": "B's custom text",
    "custom2": None,
    "custom3": None,
    "custom4": None,
    "optout": None,
    "version": None,
    "name": "B's new group",
    # The list's filters and paging (the `group` filter is an ID, swept like the others).
    "q": None,
    "updated_since": None,
    "after": None,
    "limit": None,
    "total": None,
    # The change feed's cursor (another user's cursor shows only this user's book: tested in
    # test_changes.py).
    "since": None,
    # The import's options and file (the group IDs inside a file: tests/test_import.py).
    "onduplicate": "update",
    "atomic": None,
    "file": "fullname,custom1\nB's imported contact,B's custom text\n",
}
ECHO_KEYS = ("contact", "group", "changes")
# How B writes an ID: what the service accepts must not open a way round the tenant check.
FORMATS = {"plain": "{}", "zero-padded": "000{}", "spaced": " {} "}


# -- The operations, from the OpenAPI document ------------------------------------------------


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    parameters: tuple[str, ...]  # in documented order
    required: frozenset[str]

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(p for p in self.parameters if p in ID_PARAMETERS)


def operations(document: dict[str, Any]) -> list[Operation]:
    """Every operation with its parameters: the query's for GET, the form body's for POST."""
    found = []
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
            required = {p["name"] for p in operation.get("parameters", []) if p.get("required")}
            for media in operation.get("requestBody", {}).get("content", {}).values():
                schema = media["schema"]
                if "$ref" in schema:
                    schema = document["components"]["schemas"][schema["$ref"].split("/")[-1]]
                names += list(schema.get("properties", {}))
                required |= set(schema.get("required", []))
            found.append(Operation(method.upper(), path, tuple(names), frozenset(required)))
    return found


def collection_document() -> dict[str, Any]:
    """The app's OpenAPI document, built without a database (nothing connects until start)."""
    settings = Settings(database_url="postgresql://unused@127.0.0.1:1/unused", access_log=False)
    document: dict[str, Any] = create_app(settings).openapi()
    return document


OPERATIONS = operations(collection_document())


@dataclass(frozen=True)
class Probe:
    """One ID slot of one operation, with the other ID parameters set by `context`."""

    operation: Operation
    parameter: str
    position: int | None  # index in a `group` list, or None for a single ID
    context: str  # what the other ID parameters hold: B's own, A's, or never-existing IDs
    format: str = "plain"

    @property
    def id(self) -> str:
        slot = self.parameter if self.position is None else f"{self.parameter}[{self.position}]"
        others = "" if len(self.operation.ids) == 1 else f" others={self.context}"
        fmt = "" if self.format == "plain" else f" {self.format}"
        return f"{self.operation.name} {slot}{others}{fmt}"


def probes(ops: list[Operation]) -> Iterator[Probe]:
    for operation in ops:
        contexts = ("own", "foreign", "never") if len(operation.ids) > 1 else ("own",)
        for parameter in operation.ids:
            positions: list[int | None] = [None]
            if parameter == "group":
                positions += list(range(LIST_LENGTH))
            for position in positions:
                for context in contexts:
                    yield Probe(operation, parameter, position, context)
                    if position is None and context == "own":
                        for fmt in FORMATS.keys() - {"plain"}:
                            yield Probe(operation, parameter, position, context, fmt)


PROBES = list(probes(OPERATIONS))
PLAIN_OPERATIONS = [op for op in OPERATIONS if not op.ids]


# -- Two users' data --------------------------------------------------------------------------


@dataclass
class Tenant:
    api: Api
    marker: str  # in every name this tenant stores, to spot a leak in another's answer
    contacts: list[int] = field(default_factory=list)
    groups: list[int] = field(default_factory=list)

    async def snapshot(self) -> tuple[Any, Any]:
        contacts = await self.api.get("/view/contacts/api.json")
        groups = await self.api.get("/view/groups/api.json")
        assert contacts.status_code == groups.status_code == 200
        return contacts.json(), groups.json()


async def tenant(client: httpx.AsyncClient, user: User, name: str) -> Tenant:
    """Two contacts and three groups; the first contact in the first two groups."""
    marker = f"{name}-{secrets.token_hex(4)}"
    data = Tenant(Api(client, user), marker)
    for i in range(2):
        contact = await data.api.create_contact(fullname=f"{marker} contact {i}")
        data.contacts.append(contact["controlcontact"])
    for i in range(LIST_LENGTH):
        data.groups.append(await data.api.create_group(name=f"{marker} group {i}"))
    joined = ",".join(str(g) for g in data.groups[:2])
    response = await data.api.get(
        "/contact/addgroup/api.json", contact=data.contacts[0], group=joined
    )
    assert response.status_code == 200
    return data


@pytest.fixture
async def tenants(
    client: httpx.AsyncClient, make_user: Callable[[str], Awaitable[User]]
) -> tuple[Tenant, Tenant]:
    alice = await tenant(client, await make_user("alice"), "alice")
    bob = await tenant(client, await make_user("bob"), "bob")
    return alice, bob


# -- Sending and comparing --------------------------------------------------------------------


@dataclass
class Request:
    params: dict[str, str]
    probed: str  # the probed parameter's value as sent
    template: str  # the same with the probed ID written as <ID>


def build(probe: Probe, kind: str, a: Tenant, b: Tenant) -> Request:
    """B's request with the probed slot holding an ID of `kind` (foreign, never, own)."""

    def some_id(parameter: str, of: str) -> int:
        if of == "never":
            return NEVER
        owner = a if of == "foreign" else b
        return (owner.contacts if parameter == "contact" else owner.groups)[0]

    params = {name: value for name, value in OTHER_PARAMETERS.items() if value is not None}
    params = {name: params[name] for name in probe.operation.parameters if name in params}
    for parameter in probe.operation.ids:
        if parameter != probe.parameter:
            params[parameter] = str(some_id(parameter, probe.context))
    written = FORMATS[probe.format]
    probed = written.format(some_id(probe.parameter, kind))
    template = written.format("<ID>")
    if probe.position is not None:
        items = [str(g) for g in b.groups]
        items[probe.position] = probed
        probed = ",".join(items)
        items[probe.position] = template
        template = ",".join(items)
    params[probe.parameter] = probed
    return Request(params, probed, template)


async def send(api: Api, operation: Operation, params: dict[str, str]) -> httpx.Response:
    if operation.method == "GET":
        return await api.get(operation.path, **params)
    if "file" in params:  # an upload: multipart, the file after the fields
        fields = {name: value for name, value in params.items() if name != "file"}
        return await api.http.post(
            operation.path,
            data=fields,
            files={"file": ("book.csv", params["file"].encode(), "text/csv")},
            headers={"X-API-Key": api.user.apikey},
        )
    return await api.post(operation.path, **params)


def normalised(response: httpx.Response, request: Request, parameter: str) -> tuple[int, Any]:
    """Status and body, with the probed parameter's echo written as its template."""
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    for key in ECHO_KEYS:
        echo = body.get(key) if body.get("status") == "error" else None
        if isinstance(echo, dict) and echo.get(parameter) == request.probed:
            echo[parameter] = request.template
    return response.status_code, body


# -- The sweep --------------------------------------------------------------------------------


@pytest.mark.parametrize("probe", PROBES, ids=[p.id for p in PROBES])
async def test_another_tenants_id_is_like_one_that_never_existed(
    probe: Probe, tenants: tuple[Tenant, Tenant]
) -> None:
    a, b = tenants
    a_before, b_before = await a.snapshot(), await b.snapshot()

    answers = {}
    for kind in ("foreign", "never"):
        request = build(probe, kind, a, b)
        response = await send(b.api, probe.operation, request.params)
        assert a.marker not in response.text
        answers[kind] = normalised(response, request, probe.parameter)
    assert answers["foreign"] == answers["never"]
    assert 400 <= answers["never"][0] < 500

    assert await a.snapshot() == a_before
    assert await b.snapshot() == b_before

    # The same request with B's own ID is answered (or, for a list where the operation takes
    # one ID, refused as malformed): so the refusal above was about the ID and nothing else.
    own = await send(b.api, probe.operation, build(probe, "own", a, b).params)
    if probe.context != "own":
        assert own.status_code == 404
    elif own.status_code == 200:
        not_found = {"contact": "CONTACT_NOT_FOUND", "group": "GROUP_NOT_FOUND"}[probe.parameter]
        assert answers["never"][0] == 404
        assert answers["never"][1]["error"] == not_found
    else:
        assert probe.position is not None, own.text
        assert (own.status_code, own.json()["error"]) == (400, "GROUP_INVALID")
        assert answers["never"][1]["error"] == "GROUP_INVALID"
    assert await a.snapshot() == a_before


@pytest.mark.parametrize("operation", PLAIN_OPERATIONS, ids=[op.name for op in PLAIN_OPERATIONS])
async def test_operations_without_ids_show_only_the_callers_data(
    operation: Operation, tenants: tuple[Tenant, Tenant]
) -> None:
    a, b = tenants
    a_before = await a.snapshot()
    params = {n: v for n, v in OTHER_PARAMETERS.items() if n in operation.parameters and v}
    assert operation.required <= params.keys()
    response = await send(b.api, operation, params)
    assert response.status_code == 200, response.text
    assert a.marker not in response.text
    body = response.json()
    contacts = body.get("contacts", [body["contact"]] if "contact" in body else [])
    groups = body.get("groups", [body["group"]] if "group" in body else [])
    assert not {c["controlcontact"] for c in contacts} & set(a.contacts)
    assert not {g["controlgroup"] for g in groups} & set(a.groups)
    owners = {item["controluser"] for item in contacts + groups if "controluser" in item}
    assert owners <= {b.api.user.controluser}
    assert await a.snapshot() == a_before


# -- Nothing escapes the sweep ----------------------------------------------------------------


async def test_the_sweep_covers_every_operation_served(client: httpx.AsyncClient) -> None:
    """The document served is the one the sweep was built from, and every ID parameter of every
    operation in it (each list position of `group` too) is probed."""
    served = operations((await client.get("/openapi.json")).json())
    assert {op.name: op for op in served} == {op.name: op for op in OPERATIONS}
    probed = {(p.operation.name, p.parameter, p.position) for p in PROBES}
    for op in served:
        for parameter in op.ids:
            assert (op.name, parameter, None) in probed
            if parameter == "group":
                assert {(op.name, "group", i) for i in range(LIST_LENGTH)} <= probed
    assert {op.name for op in served if not op.ids} == {op.name for op in PLAIN_OPERATIONS}
    assert any(op.ids for op in served)


async def test_every_parameter_is_classified() -> None:
    """A new parameter must be declared here as an ID (then swept) or as not one."""
    for op in OPERATIONS:
        unknown = set(op.parameters) - set(ID_PARAMETERS) - OTHER_PARAMETERS.keys()
        assert not unknown, (op.name, unknown)


async def test_every_route_is_in_the_document(app: ContactsApi) -> None:
    """An endpoint left out of the OpenAPI document would be left out of the sweep."""
    documented = {op.name for op in OPERATIONS}
    for endpoint in app.table.endpoints:
        for method in endpoint.methods:
            assert f"{method} {endpoint.path}" in documented
