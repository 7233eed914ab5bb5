"""scripts/check_compose.py: the repository's docker-compose.yml passes, and each kind of
mistake it exists to catch is caught in a copy of the file."""

from __future__ import annotations

from pathlib import Path

import pytest
from scripts.check_compose import ROOT, check

COMPOSE = (ROOT / "docker-compose.yml").read_text()
API = "  api:\n    <<: *api-image\n"


def test_the_compose_file_passes() -> None:
    problems, _warnings = check(ROOT / "docker-compose.yml")
    assert problems == []


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (API, API + "    container_name: api\n", "api has a container_name"),
        ('    expose:\n      - "8000"\n', '    ports:\n      - "8000:8000"\n', "publishes a host"),
        (
            "      migrate:\n        condition: service_completed_successfully",
            "      migrate:\n        condition: service_started",
            "api must depend on migrate with condition service_completed_successfully",
        ),
        ("      pgbouncer:\n", "      pgbouncr:\n", "api depends on pgbouncr, which is not a"),
        (
            "    command: [\"migrate\"]\n",
            "    command: [\"migrate\"]\n    depends_on:\n      api:\n"
            "        condition: service_started\n",
            "not valid YAML: key 'depends_on' given twice",
        ),
        ('    restart: "no"', "    restart: 5", "schema: services/migrate/restart"),
        ("image: postgres:15", "image: postgres:16", ".ci/run tests PostgreSQL 15"),
        ("${GATEWAY_PORT:-8000}", "${GATEWAY_PORT:-8001}", "defaults to '8001' here"),
        ("${GATEWAY_BIND:-", "${GATEWAY_HOST:-", "${GATEWAY_HOST} is used but not documented"),
        (
            "      - database_url\n      - migrations_database_url\n",
            "      - database_url\n",
            "api: MIGRATIONS_DATABASE_URL_FILE names secret migrations_database_url",
        ),
        ("      GATEWAY_ACCESS_LOG: /var/log/nginx/access.log\n", "", "does not set GATEWAY_ACC"),
        ('"^(GATEWAY_|CONTACTS_UPSTREAM_)"', '"^GATEWAY_"', "FILTER leaves out CONTACTS_UP"),
    ],
)  # fmt: skip
def test_a_mistake_is_caught(tmp_path: Path, old: str, new: str, problem: str) -> None:
    assert old in COMPOSE
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE.replace(old, new, 1))
    problems, _warnings = check(broken)
    assert any(problem in found for found in problems), problems


def test_a_depends_on_cycle_is_caught(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(
        COMPOSE.replace(
            "    depends_on:\n      postgres:\n        condition: service_healthy\n"
            "    # A one-shot",
            "    depends_on:\n      api:\n        condition: service_started\n"
            "      postgres:\n        condition: service_healthy\n    # A one-shot",
            1,
        )
    )
    problems, _warnings = check(broken)
    assert "depends_on cycle: migrate -> api -> migrate" in problems
