"""API keys across real server processes: revocation reaches every replica within 1 s, and no
log line or error body ever contains a key."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import httpx

from tests.conftest import BIN, LiveServer, cli_env, cli_json, free_port, start_server, stop_server


def test_revocation_reaches_every_replica_within_a_second(live_server: LiveServer) -> None:
    second_replica = start_server(live_server.database_url, "--workers", "2")
    try:
        user = cli_json(live_server.database_url, "user", "create", "revokee")
        key, path = str(user["apikey"]), "/view/groups/api.json"
        replicas = [live_server.base_url, second_replica.base_url]
        with httpx.Client(timeout=10) as http:
            # Warm every worker's key cache (several requests reach both workers of each).
            for base in replicas:
                for _ in range(20):
                    assert http.get(base + path, headers={"X-API-Key": key}).status_code == 200
            cli_json(live_server.database_url, "key", "revoke", str(user["key_id"]))
            revoked_at = time.monotonic()
            time.sleep(max(0.0, 1.0 - (time.monotonic() - revoked_at)))
            for base in replicas:
                for _ in range(20):
                    response = http.get(base + path, headers={"X-API-Key": key})
                    assert response.status_code == 401
                    assert response.json() == {"status": "error", "error": "APIKEY_INVALID"}
    finally:
        stop_server(second_replica)


def test_no_log_line_or_body_contains_a_key(live_server: LiveServer, tmp_path: Path) -> None:
    log_file = tmp_path / "server.log"
    port = free_port()
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            [str(BIN / "contacts-api"), "serve", "--port", str(port)],
            env=cli_env(live_server.database_url, CONTACTS_API_LOG_LEVEL="debug"),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    user = cli_json(live_server.database_url, "user", "create", "logged")
    key = str(user["apikey"])
    wrong = "cak_WRONGwrongWRONGwrongWRONGwrongWRONGwrong1234"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(base + "/readyz").raise_for_status()
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        bodies = []
        with httpx.Client(base_url=base, timeout=10) as http:
            for secret in (key, wrong):
                bodies += [
                    http.get("/view/contacts/api.json", params={"apikey": secret}),
                    http.get(f"/view/contacts/api.json?api%6Bey={secret}"),
                    http.get("/contact/create/api.json", params={"apikey": secret, "sex": "x"}),
                    http.get("/view/contact/api.json", params={"apikey": secret, "contact": "0"}),
                    http.get(
                        "/contact/create/api.json", params={"apikey": secret, "f": "x" * 9000}
                    ),
                    http.post("/contact/create/api.json", data={"apikey": secret, "fullname": ""}),
                    http.get(
                        "/view/groups/api.json", headers={"Authorization": f"Bearer {secret}"}
                    ),
                    http.get("/nope", params={"apikey": secret}),
                    http.post("/view/groups/api.json", params={"apikey": secret}),
                ]
    finally:
        process.terminate()
        process.wait(timeout=30)
    logged = log_file.read_text()
    access = [json.loads(line) for line in logged.splitlines() if '"logger":"access"' in line]
    assert len(access) >= len(bodies)  # the access log ran, one line per request
    assert {"route": "/view/contacts/api.json", "status": 401} in [
        {"route": line["route"], "status": line["status"]} for line in access
    ]
    for secret in (key, wrong):
        assert secret not in logged
        assert all(secret not in response.text for response in bodies)
