"""The README says what the service does: every error code once with its status, every
endpoint, every setting."""

from __future__ import annotations

import re
from pathlib import Path

from contacts_api.config import Settings
from contacts_api.errors import ErrorCode
from contacts_api.main import create_app

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_every_error_code_is_in_the_code_table_once_with_its_status() -> None:
    table = re.findall(r"^\| `([A-Z0-9_]+)` \| (\d{3}) \|", README, re.MULTILINE)
    assert len(table) == len({code for code, _ in table}), "a code listed twice"
    assert dict(table) == {code.value: str(code.status) for code in ErrorCode}


def test_every_endpoint_is_in_the_endpoint_table() -> None:
    app = create_app(Settings(database_url="postgresql://unused@127.0.0.1:1/unused"))
    for endpoint in app.table.endpoints:
        methods = ", ".join(endpoint.methods)
        assert f"| `{endpoint.path}` | {methods} |" in README, endpoint.path


def test_every_setting_is_documented() -> None:
    for name, field in Settings.model_fields.items():
        variable = f"CONTACTS_API_{name.upper()}"
        aliases = getattr(field.validation_alias, "choices", [])
        assert variable in README or any(f"`{alias}`" in README for alias in aliases), name
