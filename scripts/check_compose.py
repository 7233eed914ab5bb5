#!/usr/bin/env python3
"""Check docker-compose.yml without a Docker engine.

    .venv/bin/python scripts/check_compose.py [COMPOSE_FILE]

1. The YAML parses, with no key given twice in one mapping.
2. Every variable it interpolates is documented in .env.example, with the same default, and
   .env.example documents nothing else.
3. Interpolated with those values, it is valid against the Compose Specification's JSON schema
   (vendored: deploy/schema/, see its README).
4. What the schema cannot say:
   - every depends_on target is a service, the graph has no cycle, and a `service_healthy`
     target declares a healthcheck here;
   - api waits for postgres (service_healthy) and migrate (service_completed_successfully),
     has no container_name and publishes no port (so `--scale api=N` works);
   - every */run/secrets/NAME* a service's *_FILE variable names is a secret that service has;
   - the gateway and pgbouncer set every variable of their config templates, and the nginx
     image's NGINX_ENVSUBST_FILTER lets each of the gateway's through;
   - the postgres image's major version is POSTGRES_MAJOR in .ci/run, and every PostgreSQL
     version the docs name (`postgres:NN`, "PostgreSQL NN") is that one.
Exits 1 listing every problem found.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "deploy" / "schema" / "compose-spec.json"
ENV_EXAMPLE = ROOT / ".env.example"
CI_RUN = ROOT / ".ci" / "run"
NGINX_TEMPLATE = ROOT / "deploy" / "nginx" / "contacts.conf.template"
PGBOUNCER_TEMPLATE = ROOT / "deploy" / "pgbouncer" / "pgbouncer.ini.template"
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Docs known to name another version, and why that is only a warning for now.
PENDING_DOCS: dict[str, str] = {}

# Compose interpolation: $$, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ... , $VAR
_INTERPOLATION = re.compile(
    r"\$\$|\$\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)
# A config template's variable (deploy/): a braced upper-case name; nginx's own variables are
# lower-case and unbraced, so neither envsubst nor string.Template touches them.
_TEMPLATE_VARIABLE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")
# A major version named in prose or as an image: postgres:15, PostgreSQL 15 (not host:5432).
_DOC_VERSION = re.compile(r"\bpostgres:(\d{1,2})\b|\bPostgreSQL (\d{1,2})\b")


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys without a word; compose refuses the file."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *anchor`: its keys may be overridden here
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


def template_variables(text: str) -> set[str]:
    return set(_TEMPLATE_VARIABLE.findall(text))


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _interpolate(value: Any, env: dict[str, str]) -> Any:
    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("braced") or match.group("bare")
        given = env.get(name, "")
        op, arg = match.group("op"), match.group("arg")
        if op in (":-", "-"):
            return given or arg
        return given

    if isinstance(value, str):
        return _INTERPOLATION.sub(substitute, value)
    if isinstance(value, dict):
        return {key: _interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [_interpolate(item, env) for item in value]
    return value


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.partition("=")[::2] for item in env)
    return {name: "" if value is None else str(value) for name, value in env.items()}


def _secret_names(service: dict[str, Any]) -> set[str]:
    return {s if isinstance(s, str) else s["source"] for s in service.get("secrets") or []}


def _depends_on(service: dict[str, Any]) -> dict[str, str]:
    """depends_on as {target: condition} (the short list form means service_started)."""
    depends = service.get("depends_on") or {}
    if isinstance(depends, list):
        return dict.fromkeys(depends, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in depends.items()}


def check_variables(compose: Any, documented: dict[str, str]) -> list[str]:
    problems, used = [], set()
    for text in _strings(compose):
        for match in _INTERPOLATION.finditer(text):
            name = match.group("braced") or match.group("bare")
            if name is None:
                continue
            used.add(name)
            if name not in documented:
                problems.append(f"${{{name}}} is used but not documented in .env.example")
            elif match.group("op") in (":-", "-") and match.group("arg") != documented[name]:
                problems.append(
                    f"${{{name}}} defaults to {match.group('arg')!r} here but to "
                    f"{documented[name]!r} in .env.example"
                )
    unused = sorted(documented.keys() - used)
    return problems + [f".env.example documents {name}, which is not used" for name in unused]


def check_graph(services: dict[str, Any]) -> list[str]:
    problems = []
    graph = {name: _depends_on(service) for name, service in services.items()}
    for name, targets in graph.items():
        for target, condition in targets.items():
            if target not in services:
                problems.append(f"{name} depends on {target}, which is not a service")
            elif condition == "service_healthy":
                check = services[target].get("healthcheck")
                if not check or check.get("disable"):
                    problems.append(f"{name} waits for {target} to be healthy: no healthcheck")

    state: dict[str, str] = {}  # visiting / done

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done" or name not in graph:
            return
        if state.get(name) == "visiting":
            cycle = [*path[path.index(name) :], name]
            problems.append("depends_on cycle: " + " -> ".join(cycle))
            return
        state[name] = "visiting"
        for target in graph[name]:
            visit(target, [*path, name])
        state[name] = "done"

    for name in graph:
        visit(name, [])
    return problems


def check_api(services: dict[str, Any]) -> list[str]:
    api = services.get("api")
    if api is None:
        return ["no api service"]
    problems = []
    wanted = {"postgres": "service_healthy", "migrate": "service_completed_successfully"}
    depends = _depends_on(api)
    for target, condition in wanted.items():
        if depends.get(target) != condition:
            problems.append(f"api must depend on {target} with condition {condition}")
    if "container_name" in api:
        problems.append("api has a container_name: `--scale api=N` would fail")
    if api.get("ports"):
        problems.append("api publishes a host port: `--scale api=N` would collide; use expose")
    return problems


def check_secrets(compose: dict[str, Any]) -> list[str]:
    problems, defined = [], set(compose.get("secrets") or {})
    for name, service in compose["services"].items():
        held = _secret_names(service)
        problems += [f"{name} uses secret {s}, which is not defined" for s in held - defined]
        for variable, value in _environment(service).items():
            if variable.endswith("_FILE") and value.startswith("/run/secrets/"):
                secret = value.removeprefix("/run/secrets/")
                if secret not in held:
                    problems.append(f"{name}: {variable} names secret {secret}, not mounted there")
    return problems


def check_templates(services: dict[str, Any]) -> list[str]:
    problems = []
    for service, template in (("gateway", NGINX_TEMPLATE), ("pgbouncer", PGBOUNCER_TEMPLATE)):
        env = _environment(services.get(service, {}))
        envsubst_filter = env.get("NGINX_ENVSUBST_FILTER", "") if service == "gateway" else ""
        for variable in sorted(template_variables(template.read_text())):
            if not env.get(variable):
                problems.append(f"{service} does not set {variable} ({template.name})")
            if not re.search(envsubst_filter, variable):
                problems.append(f"gateway's NGINX_ENVSUBST_FILTER leaves out {variable}")
    return problems


def check_postgres_version(services: dict[str, Any]) -> tuple[list[str], list[str]]:
    image = str(services.get("postgres", {}).get("image", ""))
    found = re.fullmatch(r"postgres:(\d+)(?:[.-].*)?", image)
    if not found:
        return [f"postgres image {image!r} does not name a major version (postgres:NN)"], []
    major = found.group(1)
    problems, warnings = [], []
    ci = re.search(r"^POSTGRES_MAJOR=(\d+)$", CI_RUN.read_text(), re.MULTILINE)
    if not ci:
        problems.append(".ci/run does not set POSTGRES_MAJOR")
    elif ci.group(1) != major:
        problems.append(f".ci/run tests PostgreSQL {ci.group(1)}, compose runs {image}")
    for doc in DOCS:
        name = str(doc.relative_to(ROOT))
        for lineno, line in enumerate(doc.read_text().splitlines(), 1):
            for match in _DOC_VERSION.finditer(line):
                named = match.group(1) or match.group(2)
                if named != major:
                    message = f"{name}:{lineno} names PostgreSQL {named}; compose runs {image}"
                    if name in PENDING_DOCS:
                        warnings.append(f"{message} ({PENDING_DOCS[name]})")
                    else:
                        problems.append(message)
    return problems, warnings


def check(compose_file: Path) -> tuple[list[str], list[str]]:
    try:
        raw = yaml.load(compose_file.read_text(), Loader=_UniqueKeyLoader)  # noqa: S506 (safe)
    except yaml.YAMLError as exc:
        return [f"not valid YAML: {exc}"], []
    documented = read_env_file(ENV_EXAMPLE)
    problems = check_variables(raw, documented)
    compose = _interpolate(raw, documented)
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    for error in sorted(validator.iter_errors(compose), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(part) for part in error.absolute_path) or "(top level)"
        problems.append(f"schema: {where}: {error.message}")
    services = compose.get("services") or {}
    problems += check_graph(services) + check_api(services) + check_secrets(compose)
    problems += check_templates(services)
    version_problems, warnings = check_postgres_version(services)
    return problems + version_problems, warnings


def main(argv: list[str]) -> int:
    compose_file = Path(argv[0]) if argv else ROOT / "docker-compose.yml"
    problems, warnings = check(compose_file)
    for warning in warnings:
        print(f"warning: {warning}")
    for problem in problems:
        print(f"error: {problem}")
    if problems:
        print(f"{compose_file.name}: {len(problems)} problem(s)")
        return 1
    print(f"{compose_file.name}: valid (Compose Specification schema, depends_on graph, settings)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
