"""The OpenAPI document as clients use it. From what a real server serves, and with no hand edits:

- openapi-generator validates it with no issues;
- a Python client from openapi-python-client and one from openapi-generator (`python`) each run
  the seed's whole flow and read typed errors, parse an error code added after they were
  generated, and name the enum members (`Sex.MALE`, `Sex.FEMALE`);
- openapi-typescript makes types that `tsc --noEmit --strict` accepts, used as a client would;
- and the exported openapi.json is exactly what the app serves.

Each generator runs once per module; its output is in the failure message when it fails. The
TypeScript tools are pinned in tests/clients/ (`npm ci --prefix tests/clients`, run by .ci/run).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from contacts_api.http.openapi import document_json
from tests.conftest import BIN, LiveServer, User, cli_json

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "contacts_api_client"  # openapi-python-client
OAG_PACKAGE = "oag_client"  # openapi-generator
NODE_BIN = ROOT / "tests" / "clients" / "node_modules" / ".bin"
# What openapi-generator 7.26.0 prints for any 3.1 document, even a one-schema one.
OAG_ALLOWED_WARNINGS = (
    "OpenAPI 3.1 support is still in beta",
    "Failed to get the schema name: null",
)
OAG_LOG_PROBLEM = re.compile(r"\[[^\]]*\] +(WARN|ERROR)\b")  # "[main] WARN  o.o.codegen..."
# A code a client generated today has never seen (the document asks clients to accept them).
LATER = "SOME_CODE_ADDED_LATER"


def run_tool(*command: str | Path, cwd: Path | None = None, **env: str) -> str:
    """Run a generator or checker; its output, or a failure that shows it."""
    result = subprocess.run(
        [str(part) for part in command],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=cwd,
        env={**os.environ, **env},
    )
    output = result.stdout + result.stderr
    if result.returncode != 0:
        pytest.fail(f"{command[0]} exited with {result.returncode}:\n{output}")
    return output


def openapi_generator(*args: str | Path) -> str:
    # A JVM that starts faster: these are short runs.
    return run_tool(BIN / "openapi-generator-cli", *args, JAVA_OPTS="-XX:TieredStopAtLevel=1")


def node_tool(name: str) -> Path:
    tool = NODE_BIN / name
    assert tool.exists(), (
        f"{tool} is missing: install the pinned TypeScript tools with "
        "`npm ci --prefix tests/clients` (.ci/run does)"
    )
    return tool


@contextlib.contextmanager
def importable(directory: Path, package: str) -> Iterator[ModuleType]:
    """`package`, generated into `directory`, imported for the length of the block."""
    sys.path.insert(0, str(directory))
    try:
        yield importlib.import_module(package)
    finally:
        sys.path.remove(str(directory))
        for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
            del sys.modules[name]


class GeneratedClient:
    """The openapi-python-client package: `client.op("create_contact")` is the module of
    operationId createContact, `client.models` its models."""

    def __init__(self, package: ModuleType) -> None:
        self.package = package
        self.models = importlib.import_module(f"{PACKAGE}.models")
        self.errors = importlib.import_module(f"{PACKAGE}.errors")

    def op(self, name: str) -> Any:
        for tag in ("contacts", "groups", "health"):
            try:
                return importlib.import_module(f"{PACKAGE}.api.{tag}.{name}")
            except ModuleNotFoundError:
                continue
        raise LookupError(f"no generated operation module {name}")

    def authenticated(self, base_url: str, key: str, **options: Any) -> Any:
        # Any status the document does not list raises errors.UnexpectedStatus.
        return self.package.AuthenticatedClient(
            base_url=base_url, token=key, raise_on_unexpected_status=True, **options
        )


@pytest.fixture(scope="module")
def served_document(live_server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The live server's /openapi.json, as served, in a file every generator reads."""
    path = tmp_path_factory.mktemp("openapi") / "openapi.json"
    response = httpx.get(live_server.base_url + "/openapi.json", timeout=10)
    path.write_bytes(response.raise_for_status().content)
    return path


@pytest.fixture(scope="module")
def generated(served_document: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The openapi-python-client client, importable for this module."""
    workdir = tmp_path_factory.mktemp("generated-client")
    config = workdir / "config.json"
    # No post hooks: the generated code is used as it comes, not reformatted.
    # text/csv (the import's body) is not a content type it knows: it is told to treat it as
    # the binary body it is (its documented override for such types).
    overrides = {"text/csv": "application/octet-stream"}
    settings = {
        "package_name_override": PACKAGE,
        "post_hooks": [],
        "content_type_overrides": overrides,
    }
    config.write_text(json.dumps(settings))
    output = run_tool(
        BIN / "openapi-python-client",
        "generate",
        "--path",
        served_document,
        "--meta",
        "none",
        "--output-path",
        workdir / PACKAGE,
        "--config",
        config,
    )
    # A warning means part of the document could not be turned into code.
    assert "Warning" not in output, output
    with importable(workdir, PACKAGE) as package:
        yield GeneratedClient(package)


@pytest.fixture(scope="module")
def oag(served_document: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The openapi-generator `python` client (pydantic models, urllib3), importable for this
    module. Its package holds Configuration, ApiClient, ContactsApi, GroupsApi and the models."""
    workdir = tmp_path_factory.mktemp("oag-client")
    output = openapi_generator(
        "generate",
        "--generator-name",
        "python",
        "--input-spec",
        served_document,
        "--output",
        workdir,
        "--package-name",
        OAG_PACKAGE,
        "--global-property",
        "apiTests=false,modelTests=false,apiDocs=false,modelDocs=false",
    )
    # A warning means part of the document was misread; only the two it prints for any 3.1
    # document are expected.
    unexpected = [
        line
        for line in output.splitlines()
        if OAG_LOG_PROBLEM.match(line)
        and not any(allowed in line for allowed in OAG_ALLOWED_WARNINGS)
    ]
    assert not unexpected, "\n".join(["openapi-generator warned:", *unexpected, "", output])
    with importable(workdir, OAG_PACKAGE) as package:
        yield package


def test_openapi_generator_validates_the_served_document(served_document: Path) -> None:
    output = openapi_generator("validate", "--input-spec", served_document)
    assert "No validation issues detected." in output, output


async def test_seed_flow_through_the_generated_client(
    generated: Any, live_server: LiveServer, make_user: Callable[[str], Awaitable[User]]
) -> None:
    """The seed's calls in its order, through GET (query) and POST (form) operations alike."""
    m = generated.models
    user = await make_user("generated")
    async with generated.authenticated(live_server.base_url, user.apikey) as client:
        created = await generated.op("create_contact").asyncio(
            client=client, fullname="Fullname", msisdn="4512345678"
        )
        assert isinstance(created, m.CreateContactResponse)
        contact = created.contact
        assert (contact.fullname, contact.msisdn, contact.dialcode, contact.number) == (
            "Fullname", 4512345678, 45, 12345678
        )  # fmt: skip
        assert contact.controluser == user.controluser
        assert contact.groups is None
        assert contact.sex is None
        contact_id = contact.controlcontact

        viewed = await generated.op("view_contact").asyncio(client=client, contact=contact_id)
        assert isinstance(viewed, m.ViewContactResponse)
        assert viewed.contact.to_dict() == contact.to_dict()

        listed = await generated.op("view_contacts").asyncio(client=client)
        assert isinstance(listed, m.ViewContactsResponse)
        assert [c.controlcontact for c in listed.contacts] == [contact_id]

        group = await generated.op("create_group_post").asyncio(
            client=client, body=m.GroupCreateForm(name="Customers")
        )
        assert isinstance(group, m.CreateGroupResponse)
        assert group.group.name == "Customers"
        group_id = group.group.controlgroup

        added = await generated.op("add_group").asyncio(
            client=client, contact=contact_id, group=str(group_id)
        )
        assert isinstance(added, m.AddGroupResponse)
        assert added.addgroup.groups == [str(group_id)]
        viewed = await generated.op("view_contact").asyncio(client=client, contact=contact_id)
        assert viewed.contact.groups == [str(group_id)]
        groups = await generated.op("view_groups").asyncio(client=client)
        assert isinstance(groups, m.ViewGroupsResponse)
        assert [(g.controlgroup, g.name, g.contacts) for g in groups.groups] == [
            (group_id, "Customers", 1)
        ]

        removed = await generated.op("remove_group_post").asyncio(
            client=client, body=m.MembershipChangeForm(contact=contact_id, group=str(group_id))
        )
        assert isinstance(removed, m.RemoveGroupResponse)
        assert removed.removegroup.groups == [str(group_id)]

        deleted = await generated.op("delete_contact").asyncio(client=client, contact=contact_id)
        assert isinstance(deleted, m.DeleteContactResponse)
        assert deleted.success == "DELETE_CONTACT"
        gone = await generated.op("delete_group_post").asyncio(
            client=client, body=m.GroupRefForm(group=group_id)
        )
        assert isinstance(gone, m.DeleteGroupResponse)

        listed = await generated.op("view_contacts").asyncio(client=client)
        assert listed.contacts == []


async def test_the_contact_book_through_the_generated_client(
    generated: Any, live_server: LiveServer, make_user: Callable[[str], Awaitable[User]]
) -> None:
    """Part two as a generated client uses it: create, update with a version, a
    VERSION_MISMATCH read as a typed error, find by q, page with after and limit."""
    m = generated.models
    user = await make_user("book")
    async with generated.authenticated(live_server.base_url, user.apikey) as client:
        created = await generated.op("create_contact").asyncio(client=client, fullname="Jensine")
        assert isinstance(created, m.CreateContactResponse)
        contact = created.contact.controlcontact
        updated = await generated.op("update_contact_post").asyncio(
            client=client,
            body=m.ContactUpdateForm(contact=contact, custom1="VIP", version=1),
        )
        assert isinstance(updated, m.UpdateContactResponse)
        assert (updated.contact.custom1, updated.contact.version) == ("VIP", 2)
        stale = await generated.op("update_contact").asyncio_detailed(
            client=client, contact=contact, custom1="again", version=1
        )
        assert stale.status_code == 409
        assert isinstance(stale.parsed, m.ErrorResponse)
        assert stale.parsed.error == m.ErrorCode.VERSION_MISMATCH
        assert stale.parsed.contact.additional_properties == {"version": "1", "current": 2}
        for name in ("Jens A", "Jens B", "Other"):
            await generated.op("create_contact").asyncio(client=client, fullname=name)
        found = await generated.op("view_contacts").asyncio(client=client, q="jens")
        assert isinstance(found, m.ViewContactsResponse)
        assert [c.fullname for c in found.contacts] == ["Jensine", "Jens A", "Jens B"]
        page = await generated.op("view_contacts").asyncio(
            client=client, limit=2, total=m.Total.YES
        )
        assert [c.fullname for c in page.contacts] == ["Jensine", "Jens A"]
        assert page.total == 4
        rest = await generated.op("view_contacts").asyncio(client=client, limit=2, after=page.next_)
        assert [c.fullname for c in rest.contacts] == ["Jens B", "Other"]
        assert rest.next_ is None


def test_an_import_through_the_generated_client(
    generated: Any, live_server: LiveServer, database_url: str
) -> None:
    """The CSV as the body and as a multipart file, the options as typed enums, the report
    and a rolled-back import's typed error. (Its sync API: the generated client sends a file
    as a sync stream, which its async one cannot.)"""
    m = generated.models
    types = importlib.import_module(f"{PACKAGE}.types")
    user = cli_json(database_url, "user", "create", "importer")
    csv_file = b"fullname,msisdn\r\nJens,4512345678\r\nJens again,4512345678\r\n"
    with generated.authenticated(live_server.base_url, user["apikey"]) as client:
        as_body = generated.op("import_contacts").sync(
            client=client,
            body=types.File(payload=io.BytesIO(csv_file), mime_type="text/csv"),
            onduplicate=m.OnDuplicate.SKIP,
        )
        assert isinstance(as_body, m.ImportContactsResponse)
        report = as_body.import_
        assert (report.rows, report.created, report.skipped, report.failed) == (2, 1, 1, 0)
        as_file = generated.op("import_contacts").sync_detailed(
            client=client,
            body=m.ImportContactsFilesBody(
                file=types.File(payload=io.BytesIO(csv_file), file_name="book.csv"),
                atomic=m.Atomic.YES,
            ),
        )
        assert as_file.status_code == 400
        assert isinstance(as_file.parsed, m.ErrorResponse)
        assert as_file.parsed.error == m.ErrorCode.IMPORT_ROLLED_BACK
        assert as_file.parsed.import_.failures[0].error == "MSISDN_EXISTS"


async def test_errors_are_typed_in_the_generated_client(
    generated: Any, live_server: LiveServer, make_user: Callable[[str], Awaitable[User]]
) -> None:
    m = generated.models
    user = await make_user("generated")
    async with generated.authenticated(live_server.base_url, user.apikey) as client:
        invalid = await generated.op("create_contact_post").asyncio_detailed(
            client=client, body=m.ContactCreateForm(fullname=" ", msisdn="45abc", sex=m.Sex(2))
        )
        assert invalid.status_code == 400
        error = invalid.parsed
        assert isinstance(error, m.ErrorResponse)
        assert error.error == m.ErrorCode.FULLNAME_EMPTY
        assert error.errors == [m.ErrorCode.FULLNAME_EMPTY, m.ErrorCode.MSISDN_INVALID]
        assert error.contact.additional_properties == {"fullname": None, "msisdn": "45abc"}

        missing = await generated.op("view_contact").asyncio_detailed(client=client, contact=1)
        assert missing.status_code == 404
        assert isinstance(missing.parsed, m.ErrorResponse)
        assert missing.parsed.error == m.ErrorCode.CONTACT_NOT_FOUND
        assert missing.parsed.contact.additional_properties == {"contact": "1"}

        first = await generated.op("create_contact").asyncio(
            client=client, fullname="Jens", msisdn="+45 12 34 56 79", sex=m.Sex(1)
        )
        assert isinstance(first, m.CreateContactResponse)
        assert first.contact.sex == m.Sex(1)
        taken = await generated.op("create_contact").asyncio(
            client=client, fullname="Jens", msisdn="4512345679"
        )
        assert isinstance(taken, m.ErrorResponse)
        assert taken.error == m.ErrorCode.MSISDN_EXISTS
        assert taken.contact.additional_properties == {
            "msisdn": "4512345679",
            "controlcontact": first.contact.controlcontact,
        }

    # The other ways to present the key, and none at all.
    header = generated.authenticated(
        live_server.base_url, user.apikey, auth_header_name="X-API-Key", prefix=""
    )
    async with header as client:
        listed = await generated.op("view_groups").asyncio(client=client)
        assert isinstance(listed, m.ViewGroupsResponse)
    async with generated.package.Client(base_url=live_server.base_url) as anonymous:
        refused = await generated.op("view_contacts").asyncio_detailed(client=anonymous)
        assert refused.status_code == 401
        assert refused.parsed.error == m.ErrorCode.APIKEY_EMPTY
        assert refused.parsed.errors is generated.package.types.UNSET
        alive = await generated.op("healthz").asyncio(client=anonymous)
        assert isinstance(alive, m.AliveResponse)
        assert alive.success == "ALIVE"


def oag_seed_flow(oag: ModuleType, base_url: str, user: User) -> None:
    """The seed's calls in its order through the openapi-generator client (synchronous)."""
    m = oag.models
    configuration = oag.Configuration(host=base_url, access_token=user.apikey)
    with oag.ApiClient(configuration) as api_client:
        contacts, groups = oag.ContactsApi(api_client), oag.GroupsApi(api_client)
        created = contacts.create_contact(fullname="Fullname", msisdn="4512345678")
        assert isinstance(created, m.CreateContactResponse)
        contact = created.contact
        assert (contact.fullname, contact.msisdn, contact.dialcode, contact.number) == (
            "Fullname", 4512345678, 45, 12345678
        )  # fmt: skip
        assert contact.controluser == user.controluser
        assert (contact.groups, contact.sex) == (None, None)
        contact_id = contact.controlcontact

        viewed = contacts.view_contact(contact=contact_id)
        assert isinstance(viewed, m.ViewContactResponse)
        assert viewed.contact == contact

        listed = contacts.view_contacts()
        assert isinstance(listed, m.ViewContactsResponse)
        assert [c.controlcontact for c in listed.contacts] == [contact_id]

        group = groups.create_group_post(name="Customers")
        assert isinstance(group, m.CreateGroupResponse)
        assert group.group.name == "Customers"
        group_id = group.group.controlgroup

        added = contacts.add_group(contact=contact_id, group=str(group_id))
        assert isinstance(added, m.AddGroupResponse)
        assert added.addgroup.groups == [str(group_id)]
        assert contacts.view_contact(contact=contact_id).contact.groups == [str(group_id)]
        summaries = groups.view_groups()
        assert isinstance(summaries, m.ViewGroupsResponse)
        assert [(g.controlgroup, g.name, g.contacts) for g in summaries.groups] == [
            (group_id, "Customers", 1)
        ]

        removed = contacts.remove_group_post(contact=contact_id, group=str(group_id))
        assert isinstance(removed, m.RemoveGroupResponse)
        assert removed.removegroup.groups == [str(group_id)]
        assert contacts.view_contact(contact=contact_id).contact.groups is None

        deleted = contacts.delete_contact(contact=contact_id)
        assert isinstance(deleted, m.DeleteContactResponse)
        assert deleted.success == "DELETE_CONTACT"
        assert isinstance(groups.delete_group_post(group=group_id), m.DeleteGroupResponse)
        assert contacts.view_contacts().contacts == []

        # A form POST with an enum member, answered with one.
        jens = contacts.create_contact_post(fullname="Jens", sex=m.Sex.FEMALE)
        assert jens.contact.sex is m.Sex.FEMALE


def oag_typed_errors(oag: ModuleType, base_url: str, user: User) -> None:
    """An error answer raises the status's exception, whose `data` is the parsed ErrorResponse
    (a body the models could not read would leave it None)."""
    m = oag.models
    configuration = oag.Configuration(host=base_url, access_token=user.apikey)
    with oag.ApiClient(configuration) as api_client:
        contacts = oag.ContactsApi(api_client)
        with pytest.raises(oag.exceptions.BadRequestException) as invalid:
            contacts.create_contact_post(fullname=" ", msisdn="45abc")
        assert invalid.value.status == 400
        error = invalid.value.data
        assert isinstance(error, m.ErrorResponse), invalid.value.body
        assert error.error.actual_instance is m.ErrorCode.FULLNAME_EMPTY
        assert [e.actual_instance for e in error.errors] == [
            m.ErrorCode.FULLNAME_EMPTY,
            m.ErrorCode.MSISDN_INVALID,
        ]
        echo = {name: value.actual_instance for name, value in error.contact.items()}
        assert echo == {"fullname": None, "msisdn": "45abc"}

        with pytest.raises(oag.exceptions.NotFoundException) as missing:
            contacts.view_contact(contact=1)
        assert missing.value.status == 404
        error = missing.value.data
        assert isinstance(error, m.ErrorResponse), missing.value.body
        assert error.error.actual_instance is m.ErrorCode.CONTACT_NOT_FOUND
        assert {name: value.actual_instance for name, value in error.contact.items()} == {
            "contact": "1"
        }

    anonymous = oag.ContactsApi(oag.ApiClient(oag.Configuration(host=base_url)))
    with pytest.raises(oag.exceptions.UnauthorizedException) as refused:
        anonymous.view_contacts()
    assert refused.value.data.error.actual_instance is m.ErrorCode.APIKEY_EMPTY
    assert refused.value.data.errors is None


async def test_seed_flow_through_the_openapi_generator_client(
    oag: ModuleType, live_server: LiveServer, make_user: Callable[[str], Awaitable[User]]
) -> None:
    user = await make_user("oag")
    await asyncio.to_thread(oag_seed_flow, oag, live_server.base_url, user)


async def test_errors_are_typed_in_the_openapi_generator_client(
    oag: ModuleType, live_server: LiveServer, make_user: Callable[[str], Awaitable[User]]
) -> None:
    user = await make_user("oag")
    await asyncio.to_thread(oag_typed_errors, oag, live_server.base_url, user)


def test_generated_clients_read_error_codes_added_later(generated: Any, oag: ModuleType) -> None:
    """A client generated today meets a code added tomorrow: it comes back as the string, while
    a code known today stays the enum member (ErrorResponse.error is anyOf[ErrorCode, string])."""
    body = {"status": "error", "error": LATER, "errors": [LATER]}
    known = {
        "status": "error",
        "error": "CONTACT_NOT_FOUND",
        "errors": ["CONTACT_NOT_FOUND", LATER],
    }

    m = generated.models
    later = m.ErrorResponse.from_dict(body)
    assert later.error == LATER
    assert type(later.error) is str
    assert later.errors == [LATER]
    assert type(later.errors[0]) is str
    parsed = m.ErrorResponse.from_dict(known)
    assert parsed.error is m.ErrorCode.CONTACT_NOT_FOUND
    assert parsed.errors == [m.ErrorCode.CONTACT_NOT_FOUND, LATER]
    assert parsed.errors[0] is m.ErrorCode.CONTACT_NOT_FOUND

    o = oag.models
    later = o.ErrorResponse.from_json(json.dumps(body))
    assert later.error.actual_instance == LATER
    assert type(later.error.actual_instance) is str
    assert [e.actual_instance for e in later.errors] == [LATER]
    parsed = o.ErrorResponse.from_json(json.dumps(known))
    assert parsed.error.actual_instance is o.ErrorCode.CONTACT_NOT_FOUND
    assert [e.actual_instance for e in parsed.errors] == [o.ErrorCode.CONTACT_NOT_FOUND, LATER]
    assert type(parsed.errors[1].actual_instance) is str


def test_generated_enums_have_readable_names(generated: Any, oag: ModuleType) -> None:
    """x-enum-varnames: Sex.MALE / Sex.FEMALE, not VALUE_1 / NUMBER_1."""
    for sex in (generated.models.Sex, oag.models.Sex):
        assert [(member.name, member.value) for member in sex] == [("MALE", 1), ("FEMALE", 2)]
        assert sex(2) is sex.FEMALE


# Uses the generated types as a client would; each @ts-expect-error line must be an error, so
# the types are not `any`.
TYPESCRIPT_USAGE = f"""\
import type {{ components, operations, paths }} from "./schema";

type Schemas = components["schemas"];
const later: Schemas["ErrorResponse"] = {{
  status: "error",
  error: "{LATER}",
  errors: ["{LATER}", "CONTACT_NOT_FOUND"],
}};
const known: Schemas["ErrorCode"] = "CONTACT_NOT_FOUND";
// @ts-expect-error ErrorCode lists the codes known today
const unknown: Schemas["ErrorCode"] = "{LATER}";
const female: Schemas["Sex"] = 2;
// @ts-expect-error sex is 1 or 2
const neither: Schemas["Sex"] = 3;
// @ts-expect-error an error answer says so
const success: Schemas["ErrorResponse"] = {{ status: "success", error: "NOT_FOUND" }};

type Create = operations["createContact"];
const query: Create["parameters"]["query"] = {{ fullname: "Fullname", msisdn: "4512345678" }};
// @ts-expect-error fullname is required
const nameless: Create["parameters"]["query"] = {{ msisdn: "4512345678" }};
type Created = Create["responses"][200]["content"]["application/json"];
const id = (answer: Created): number => answer.contact.controlcontact;
const groups = (answer: Created): string[] | null => answer.contact.groups;
type Refused = Create["responses"][400]["content"]["application/json"];
const code = (answer: Refused): string => answer.error;
type ViewContact = paths["/view/contact/api.json"]["get"];
const contact: ViewContact["parameters"]["query"] = {{ contact: 100 }};

export {{ later, known, unknown, female, neither, success }};
export {{ query, nameless, id, groups, code, contact }};
"""


def test_openapi_typescript_types_pass_tsc_strict(served_document: Path, tmp_path: Path) -> None:
    schema = tmp_path / "schema.d.ts"
    output = run_tool(node_tool("openapi-typescript"), served_document, "--output", schema)
    # It reports problems in the document as warnings, and carries on.
    assert "warn" not in output.lower(), output
    usage = tmp_path / "usage.ts"
    usage.write_text(TYPESCRIPT_USAGE)
    run_tool(node_tool("tsc"), "--noEmit", "--strict", schema, usage, cwd=tmp_path)


async def test_exported_openapi_json_is_what_the_app_serves(client: httpx.AsyncClient) -> None:
    served = (await client.get("/openapi.json")).json()
    exported = (ROOT / "openapi.json").read_text(encoding="utf-8")
    assert json.loads(exported) == served, (
        "openapi.json is stale: run `.venv/bin/python scripts/export_openapi.py`"
    )
    assert exported == document_json(served), "openapi.json is not in the exported format"
