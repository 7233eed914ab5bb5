"""The OpenAPI document as clients use it: a Python client generated from what a real server
serves (openapi-python-client, no hand edits) runs the seed's whole flow and reads typed errors;
and the exported openapi.json is exactly what the app serves."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from contacts_api.http.openapi import document_json
from tests.conftest import BIN, LiveServer, User

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "contacts_api_client"


class GeneratedClient:
    """The generated package: `client.op("create_contact")` is the module of operationId
    createContact, `client.models` its models."""

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
def generated(live_server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A client generated from the live server's /openapi.json, importable for this module."""
    workdir = tmp_path_factory.mktemp("generated-client")
    config = workdir / "config.json"
    # No post hooks: the generated code is used as it comes, not reformatted.
    config.write_text(json.dumps({"package_name_override": PACKAGE, "post_hooks": []}))
    result = subprocess.run(
        [
            str(BIN / "openapi-python-client"),
            "generate",
            "--url",
            live_server.base_url + "/openapi.json",
            "--meta",
            "none",
            "--output-path",
            str(workdir / PACKAGE),
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # A warning means part of the document could not be turned into code.
    assert "Warning" not in output, output
    sys.path.insert(0, str(workdir))
    try:
        yield GeneratedClient(importlib.import_module(PACKAGE))
    finally:
        sys.path.remove(str(workdir))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


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


async def test_exported_openapi_json_is_what_the_app_serves(client: httpx.AsyncClient) -> None:
    served = (await client.get("/openapi.json")).json()
    exported = (ROOT / "openapi.json").read_text(encoding="utf-8")
    assert json.loads(exported) == served, (
        "openapi.json is stale: run `.venv/bin/python scripts/export_openapi.py`"
    )
    assert exported == document_json(served), "openapi.json is not in the exported format"
