"""Real nginx and PgBouncer processes for tests, configured from the repository's own templates
(deploy/nginx/contacts.conf.template, deploy/pgbouncer/pgbouncer.ini.template), the same files
docker-compose.yml uses.

Each context manager starts its server in the foreground on a free port on 127.0.0.1, with its
config, logs and temporary files in a temporary directory of its own, and stops it on exit.
Only loopback addresses are ever targets.
"""

from __future__ import annotations

import grp
import ipaddress
import os
import pwd
import shutil
import socket
import string
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from scripts.check_compose import template_variables

from contacts_api.database.pool import plain_url
from tests.conftest import Api, free_port

ROOT = Path(__file__).resolve().parent.parent
NGINX_TEMPLATE = ROOT / "deploy" / "nginx" / "contacts.conf.template"
PGBOUNCER_TEMPLATE = ROOT / "deploy" / "pgbouncer" / "pgbouncer.ini.template"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
PREFIX = "/contacts"


def render(template: Path, values: Mapping[str, str]) -> str:
    """The template with exactly its variables substituted, as envsubst does in the images."""
    text = template.read_text()
    wanted = template_variables(text)
    if wanted != set(values):
        raise ValueError(
            f"{template.name}: variables {sorted(wanted)}, given {sorted(values)}",
        )
    return string.Template(text).safe_substitute(values)


def require_loopback(host: str) -> None:
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"tests only target loopback addresses, not {host}")


def host_port(address: str) -> tuple[str, int]:
    """`http://127.0.0.1:8000` or `127.0.0.1:8000` as a loopback (host, port)."""
    parts = urlsplit(address if "//" in address else "//" + address)
    if parts.hostname is None or parts.port is None:
        raise ValueError(f"not host:port: {address}")
    require_loopback(parts.hostname)
    return parts.hostname, parts.port


def wait_until_listening(
    process: subprocess.Popen[bytes], port: int, log: Path, *, timeout: float = 15
) -> None:
    """Until something accepts connections on 127.0.0.1:port; the log tells why it did not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode}:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"not listening on port {port} after {timeout} s:\n{log.read_text()}")


def wait_for_line(
    process: subprocess.Popen[bytes], log: Path, text: str, *, timeout: float = 15
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode}:\n{log.read_text()}")
        if text in log.read_text(errors="replace"):
            return
        time.sleep(0.05)
    raise RuntimeError(f"no {text!r} in the log after {timeout} s:\n{log.read_text()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def spawn(
    command: Sequence[str],
    log: Path,
    *,
    env: Mapping[str, str] | None = None,
    unprivileged: bool = False,
) -> subprocess.Popen[bytes]:
    """Start `command` with its output in `log`; as unprivileged_user() when asked and root."""
    runner = unprivileged_user() if unprivileged else None
    with log.open("wb") as out:
        return subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            user=runner.pw_uid if runner else None,
            group=runner.pw_gid if runner else None,
            extra_groups=[] if runner else None,
        )


@contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix=prefix) as name:
        # Readable by the unprivileged users the servers run as when the tests run as root
        # (pytest's tmp_path is under a directory that only its owner may enter).
        os.chmod(name, 0o755)
        yield Path(name)


def unprivileged_user() -> pwd.struct_passwd | None:
    """Who a server runs as when the tests run as root (PgBouncer refuses to run as root)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root, and there is no postgres or nobody user to run as")


def _group_name(user: pwd.struct_passwd) -> str:
    return grp.getgrgid(user.pw_gid).gr_name


@dataclass
class Gateway:
    url: str  # where the API is published: http://127.0.0.1:PORT/contacts
    origin: str  # http://127.0.0.1:PORT
    access_log: Path
    error_log: Path
    stderr_log: Path

    def logs(self, *, containing: str = "", timeout: float = 2) -> str:
        """The three logs, once they contain `containing` (or after `timeout` s): nginx writes
        a request's access log line just after sending the answer."""
        deadline = time.monotonic() + timeout
        while True:
            text = "".join(
                p.read_text() for p in (self.access_log, self.error_log, self.stderr_log)
            )
            if containing in text or time.monotonic() > deadline:
                return text
            time.sleep(0.02)


_NGINX_MAIN = """\
{user}
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log notice;
events {{
    worker_connections 512;
}}
http {{
    client_body_temp_path {dir}/temp/client_body;
    proxy_temp_path {dir}/temp/proxy;
    fastcgi_temp_path {dir}/temp/fastcgi;
    uwsgi_temp_path {dir}/temp/uwsgi;
    scgi_temp_path {dir}/temp/scgi;
    include {dir}/contacts.conf;
}}
"""


@contextmanager
def nginx_gateway(upstreams: Sequence[str]) -> Iterator[Gateway]:
    """nginx with the gateway template in front of `upstreams` (base URLs or host:port)."""
    servers = [host_port(address) for address in upstreams]
    port = free_port()
    with scratch_dir("contacts-nginx-") as workdir:
        (workdir / "temp").mkdir()
        access_log = workdir / "access.log"
        error_log = workdir / "error.log"
        stderr_log = workdir / "stderr.log"
        for log in (access_log, error_log, stderr_log):
            log.touch()
        site = render(
            NGINX_TEMPLATE,
            {
                "GATEWAY_LISTEN": f"127.0.0.1:{port}",
                "CONTACTS_UPSTREAM_SERVERS": " ".join(f"server {h}:{p};" for h, p in servers),
                "GATEWAY_ACCESS_LOG": str(access_log),
            },
        )
        (workdir / "contacts.conf").write_text(site)
        worker = unprivileged_user()
        user = f"user {worker.pw_name} {_group_name(worker)};" if worker else ""
        (workdir / "nginx.conf").write_text(_NGINX_MAIN.format(user=user, dir=workdir))
        command = [
            NGINX,
            *("-p", str(workdir), "-c", str(workdir / "nginx.conf"), "-e", str(error_log)),
            *("-g", "daemon off;"),
        ]
        process = spawn(command, stderr_log)
        try:
            wait_until_listening(process, port, error_log)
            origin = f"http://127.0.0.1:{port}"
            yield Gateway(origin + PREFIX, origin, access_log, error_log, stderr_log)
        finally:
            stop(process)


async def seed_flow(api: Api) -> None:
    """The seed document's calls in order, each answer checked: create a contact, view it, list,
    create a group, add the contact to it, remove it, delete the contact."""
    contact = await api.create_contact(fullname="Fullname", msisdn="4512345678")
    assert (contact["fullname"], contact["msisdn"]) == ("Fullname", 4512345678)
    assert (contact["dialcode"], contact["number"], contact["groups"]) == (45, 12345678, None)
    cid = contact["controlcontact"]

    view = await api.get("/view/contact/api.json", contact=cid)
    assert view.status_code == 200, view.text
    assert view.json() == {"status": "success", "success": "VIEW_CONTACT", "contact": contact}

    listing = await api.get("/view/contacts/api.json")
    assert listing.status_code == 200, listing.text
    assert listing.json()["success"] == "VIEW_CONTACTS"
    assert contact in listing.json()["contacts"]

    gid = await api.create_group("Customers")
    added = await api.get("/contact/addgroup/api.json", contact=cid, group=gid)
    assert added.status_code == 200, added.text
    assert added.json() == {
        "status": "success",
        "success": "ADD_GROUP",
        "addgroup": {"groups": [str(gid)]},
    }
    groups = (await api.get("/view/groups/api.json")).json()["groups"]
    assert {"controlgroup": gid, "name": "Customers", "contacts": 1} in groups

    removed = await api.get("/contact/removegroup/api.json", contact=cid, group=gid)
    assert removed.status_code == 200, removed.text
    assert removed.json() == {
        "status": "success",
        "success": "REMOVE_GROUP",
        "removegroup": {"groups": [str(gid)]},
    }

    deleted = await api.get("/contact/delete/api.json", contact=cid)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"status": "success", "success": "DELETE_CONTACT"}
    gone = await api.get("/view/contact/api.json", contact=cid)
    assert (gone.status_code, gone.json()["error"]) == (404, "CONTACT_NOT_FOUND")


@dataclass
class PgBouncer:
    url: str  # postgresql://user:password@127.0.0.1:PORT/dbname
    log: Path


@contextmanager
def pgbouncer(
    database_url: str, *, password: str = "pgbouncer-test-password"
) -> Iterator[PgBouncer]:
    """PgBouncer in transaction pooling mode in front of `database_url`'s database.

    Clients authenticate to PgBouncer with SCRAM against a userlist holding `password` (as in
    compose); PgBouncer logs in to PostgreSQL as the same user with the same password, which a
    server that trusts local connections accepts as well.
    """
    target = urlsplit(plain_url(database_url))
    host, db_port = target.hostname or "127.0.0.1", target.port or 5432
    require_loopback(host)
    user, dbname = target.username or "postgres", target.path.lstrip("/")
    port = free_port()
    with scratch_dir("contacts-pgbouncer-") as workdir:
        auth_file = workdir / "userlist.txt"
        auth_file.write_text(f'"{user}" "{password}"\n')
        config = workdir / "pgbouncer.ini"
        config.write_text(
            render(
                PGBOUNCER_TEMPLATE,
                {
                    "PGBOUNCER_LISTEN_ADDR": "127.0.0.1",
                    "PGBOUNCER_LISTEN_PORT": str(port),
                    "PGBOUNCER_DB_NAME": dbname,
                    "PGBOUNCER_DB_HOST": host,
                    "PGBOUNCER_DB_PORT": str(db_port),
                    "PGBOUNCER_AUTH_FILE": str(auth_file),
                },
            )
        )
        log = workdir / "pgbouncer.log"
        process = spawn([PGBOUNCER, str(config)], log, unprivileged=True)
        try:
            wait_until_listening(process, port, log)
            # The port was free when chosen; make sure it is PgBouncer that took it.
            wait_for_line(process, log, f"listening on 127.0.0.1:{port}")
            url = f"postgresql://{quote(user)}:{quote(password)}@127.0.0.1:{port}/{dbname}"
            yield PgBouncer(url, log)
        finally:
            stop(process)
