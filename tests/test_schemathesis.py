"""Schemathesis against a real server (`contacts-api serve`, two workers) and the OpenAPI
document it serves: every operation, with valid and invalid data (examples, coverage, fuzzing)
and stateful sequences along the document's links, under every check: no 5xx, every status and
body as documented, invalid values rejected, valid values accepted, the key enforced, deleted
resources gone, created ones reachable.

A short, seeded run by default; a longer one with a new seed (it prints the seed it used):

    SCHEMATHESIS_MAX_EXAMPLES=500 SCHEMATHESIS_SEED=random \
        .venv/bin/pytest tests/test_schemathesis.py -s
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from contacts_api.fields.birthday import birthday_timestamp, today_in_copenhagen
from contacts_api.fields.text import BLANK
from tests.conftest import BIN, LiveServer, User

MAX_EXAMPLES = os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "50")
SEED = os.environ.get("SCHEMATHESIS_SEED", "20261127")  # "random": a new one each run
TIMEOUT = float(os.environ.get("SCHEMATHESIS_TIMEOUT", "600"))


def as_the_service_reads_it(document: dict[str, Any], cursors: list[str]) -> dict[str, Any]:
    """The served document plus two rules it leaves out, so the checks judge values as the
    service does:

    - a birthday's date may not be after today (in Europe/Copenhagen), a bound no document can
      state for all time;
    - an empty optional value is the same as none (contract §1). The text fields' patterns say
      so; the integer fields (`birthday`, `sex`) do not, so that generated clients keep them
      `int`, and OpenAPI's `allowEmptyValue` exists only for query parameters;
    - an import's file is valid when it is a CSV of valid rows, which no schema of a string can
      say: the fuzzer sends one such file (every malformed kind is in the hostile corpus and
      tests/test_import.py).
    """
    schemas = document["components"]["schemas"]
    tomorrow = today_in_copenhagen() + timedelta(days=1)
    schemas["Birthday"]["maximum"] = birthday_timestamp(tomorrow) - 1
    # A cursor is opaque: the valid ones are those the service made (any other string that
    # fits the pattern is CURSOR_INVALID, as documented).
    schemas["Cursor"] = {
        "anyOf": [{"type": "string", "enum": cursors}, {"type": "string", "pattern": BLANK}]
    }

    blank = {"type": "string", "pattern": BLANK}

    def or_blank(schema: dict[str, Any]) -> dict[str, Any]:
        name = schema.get("$ref", "").rpartition("/")[2]
        is_integer = schemas.get(name, {}).get("type") == "integer"
        return {"anyOf": [schema, blank]} if is_integer else schema

    for operations in document["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if not parameter["required"]:
                    parameter["schema"] = or_blank(parameter["schema"])
    for operations in document["paths"].values():
        for operation in operations.values():
            for media in operation.get("requestBody", {}).get("content", {}).values():
                if media["schema"].get("format") == "binary":
                    media["schema"] = VALID_CSV
                elif "file" in media["schema"].get("properties", {}):
                    media["schema"]["properties"]["file"] = VALID_CSV
    for name, schema in schemas.items():
        if name.endswith("Form"):
            for field, property_schema in schema["properties"].items():
                if field not in schema["required"]:
                    schema["properties"][field] = or_blank(property_schema)
    return document


VALID_CSV = {
    "type": "string",
    "format": "binary",
    "enum": ["fullname,custom1\r\nFuzz,imported\r\n"],
}

# Operations that half the time get IDs that exist (a link can carry only one of the two).
WITH_EXISTING_IDS = (
    "addGroup", "removeGroup", "updateContact", "optoutContact", "optinContact", "updateGroup",
    "viewGroup",
)  # fmt: skip


def config_toml(contact: int, group: int) -> str:
    """Half the time, the operations above get an existing contact and group of the user, so
    their successes are checked too. Schemathesis substitutes
    such a value only where it keeps the case's mode: never into an invalid-data case."""
    return f"""
# Unknown parameters are ignored (contract §1): adding one does not make a request invalid.
[generation]
allow-extra-parameters = false

[dictionaries.contact]
values = [{contact}]

[dictionaries.group]
values = ["{group}"]

[[operations]]
include-operation-id-regex = "^({"|".join(WITH_EXISTING_IDS)})(Post)?$"

[operations.parameters]
contact = {{ dictionary = "contact", probability = 0.5 }}
group = {{ dictionary = "group", probability = 0.5 }}
"body.contact" = {{ dictionary = "contact", probability = 0.5 }}
"body.group" = {{ dictionary = "group", probability = 0.5 }}
"""


def operation_count(document: dict[str, Any]) -> int:
    return sum(len(operations) for operations in document["paths"].values())


async def test_schemathesis_finds_nothing(
    live_server: LiveServer, make_user: Callable[[str], Awaitable[User]], tmp_path: Path
) -> None:
    user = await make_user("schemathesis")
    headers = {"Authorization": f"Bearer {user.apikey}"}
    async with httpx.AsyncClient(base_url=live_server.base_url, headers=headers) as http:
        served = (await http.get("/openapi.json")).raise_for_status().json()
        contact = await http.get("/contact/create/api.json", params={"fullname": "Fuzz"})
        group = await http.get("/group/create/api.json", params={"name": "Fuzz"})
        feed = (await http.get("/view/changes/api.json", params={"limit": "1"})).json()
    contact_id = contact.raise_for_status().json()["contact"]["controlcontact"]
    group_id = group.raise_for_status().json()["group"]["controlgroup"]
    document = as_the_service_reads_it(served, [feed["next"]])
    schema = tmp_path / "openapi.json"
    schema.write_text(json.dumps(document))
    config = tmp_path / "schemathesis.toml"
    config.write_text(config_toml(contact_id, group_id))

    command = [
        str(BIN / "schemathesis"),
        "--config-file",
        str(config),
        "run",
        str(schema),
        "--url",
        live_server.base_url,
        # In the header of the document's first security scheme (bearer), schemathesis takes
        # the key as given, not generated (with X-API-Key it would judge its own generated
        # Authorization header instead); `ignored_auth` then resends each request without a key
        # and with a wrong one in each of the three places, and expects 401.
        "--header",
        f"Authorization: Bearer {user.apikey}",
        "--checks",
        "all",
        "--max-examples",
        MAX_EXAMPLES,
        "--request-timeout",
        "10",
        "--generation-database",
        "none",
        "--no-color",
    ]
    if SEED != "random":
        command += ["--seed", SEED]
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout=TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    report = output.decode(errors="replace")
    print(report)  # shown with -s, or by pytest when the test fails
    assert process.returncode == 0, "schemathesis found problems (see its report above)"
    assert f"Tested: {operation_count(document)}" in report, "some operations were not tested"
