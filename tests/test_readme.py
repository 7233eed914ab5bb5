"""The README's first tour runs as pasted: its shell block, run with bash against a live
`contacts-api serve` on a fresh database, answers every call with the success it is meant to.

Once with `API` and `KEY` set, and once with only `API`, as a newcomer pastes it: the block
then makes its own user with `python3 dev.py user create`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.conftest import (
    LiveServer,
    cli_json,
    create_database,
    drop_database,
    start_server,
    stop_server,
)

ROOT = Path(__file__).resolve().parent.parent
MARK = "<!-- tests/test_readme.py runs the next block -->"
# What each call in the block must answer, in order.
EXPECTED = [
    "CREATE_CONTACT", "CREATE_CONTACT", "VIEW_CONTACTS", "VIEW_CONTACT",
    "CREATE_GROUP", "CREATE_GROUP", "VIEW_GROUPS",
    "ADD_GROUP", "ADD_GROUP", "REMOVE_GROUP",
    "DELETE_CONTACT", "DELETE_CONTACT", "DELETE_GROUP", "DELETE_GROUP",
    "ALIVE", "READY",
]  # fmt: skip
# Runs before the block: stop at the first failing command, and note each curl's status and
# body (the block's output is unchanged).
PRELUDE = r"""set -euo pipefail
curl() {
    local out
    out=$(command curl -w '\n%{http_code}' "$@") || return
    printf '%s %s\n' "${out##*$'\n'}" "${out%$'\n'*}" >> "$README_LOG"
    printf '%s\n' "${out%$'\n'*}"
}
"""


def tour() -> str:
    text = (ROOT / "README.md").read_text()
    assert text.count(MARK) == 1
    block = re.search(re.escape(MARK) + r"\n```sh\n(.*?)\n```", text, re.DOTALL)
    assert block is not None, "the marked block is not a ```sh block"
    return block.group(1)


@pytest.fixture(scope="module")
async def fresh(server_url: str) -> AsyncIterator[str]:
    url = await create_database(server_url)  # `serve` migrates it
    yield url
    await drop_database(server_url, url)


@pytest.fixture(scope="module")
def served(fresh: str) -> Iterator[LiveServer]:
    server = start_server(fresh)
    yield server
    stop_server(server)


@pytest.mark.parametrize("key_given", [True, False], ids=["KEY-set", "KEY-made-by-the-block"])
def test_the_readme_tour_runs_as_pasted(
    served: LiveServer, fresh: str, tmp_path: Path, key_given: bool
) -> None:
    log = tmp_path / "answers.log"
    env = {**os.environ, "API": served.base_url, "README_LOG": str(log), "DATABASE_URL": fresh}
    env.pop("KEY", None)
    if key_given:
        env["KEY"] = cli_json(fresh, "user", "create", "reader")["apikey"]
    result = subprocess.run(
        ["bash", "-c", PRELUDE + tour()],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    answers = [line.split(" ", 1) for line in log.read_text().splitlines()]
    assert [status for status, _ in answers] == ["200"] * len(EXPECTED), answers
    bodies = [json.loads(body) for _, body in answers]
    assert [b["status"] for b in bodies] == ["success"] * len(EXPECTED)
    assert [b["success"] for b in bodies] == EXPECTED
    # What the tour shows: the second contact in both groups, then only in the second.
    by_code = dict(zip(EXPECTED, bodies, strict=False))
    assert by_code["VIEW_CONTACTS"]["contacts"][1]["msisdn"] == 4520304051
    assert len(bodies[EXPECTED.index("REMOVE_GROUP")]["removegroup"]["groups"]) == 1
