# syntax=docker/dockerfile:1
#
# contacts-api container image: `contacts-api serve` on port 8000, under tini, as a non-root user.
#
# The container needs DATABASE_URL (postgresql://user:password@host:5432/db), or DATABASE_URL_FILE
# naming a file that holds it (a docker secret, as docker-compose.yml does). Without either the
# CLI would try to start the embedded PostgreSQL server, which is for local development only: in
# this image it fails at once (the user has no writable home for its data directory) rather than
# keeping data in a throwaway container. See docs/deployment.md and docker-compose.yml.
#
# Both stages use the same base image, so the venv's /usr/local/bin/python3.11 exists in both.
# Pinned to Debian bookworm so that the apt pin of tini below is a version that exists;
# for fully repeatable builds pin it further by digest (python:3.11-slim-bookworm@sha256:...).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src

# 1. Runtime dependencies: exactly the hash-pinned lock (uv pip compile --generate-hashes).
#    --only-binary: every locked package ships wheels for CPython 3.11 on Linux, so nothing is
#    compiled here and no unpinned build dependency is ever fetched.
COPY requirements/main.lock requirements/build.lock requirements/
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --require-hashes --only-binary :all: \
        -r requirements/main.lock

# 2. The build backend, pinned with hashes in requirements/build.lock, in a separate build venv
#    so none of it ends up in the image; the project is built without build isolation, so
#    nothing unpinned is downloaded.
RUN python -m venv /opt/build \
    && /opt/build/bin/pip install --no-cache-dir --require-hashes --only-binary :all: \
        -r requirements/build.lock

# 3. The project itself, as a regular (non-editable) wheel: hatchling's force-include copies
#    alembic/ into it as contacts_api/_alembic, where contacts_api.database.migrations finds it.
COPY pyproject.toml README.md ./
COPY alembic/ alembic/
COPY src/ src/
RUN /opt/build/bin/pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /tmp/dist . \
    && /opt/venv/bin/pip install --no-cache-dir --no-deps --no-index /tmp/dist/contacts_api-*.whl \
    && test -d /opt/venv/lib/python3.11/site-packages/contacts_api/_alembic/versions

# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

# tini as PID 1: forwards SIGTERM to the server and reaps zombies. The version is the one in
# Debian bookworm (the base image's release); update it together with PYTHON_IMAGE.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini=0.19.0-1+b3 \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin app

# Owned by root and read-only for the service user.
COPY --from=builder /opt/venv /opt/venv

ENV PATH="/opt/venv/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CONTACTS_API_HOST=0.0.0.0

USER 10001:10001
WORKDIR /tmp

EXPOSE 8000
STOPSIGNAL SIGTERM

# Liveness only (/healthz never touches the database). There is no curl in the slim image, so
# Python's urllib does the request; any error or non-2xx status exits non-zero.
# docker-compose.yml's api service replaces it with the same request to /readyz (readiness,
# which its gateway waits for) and turns it off for the one-shot migrate service.
# start-period covers `serve` applying migrations (and waiting for another replica's lock).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('CONTACTS_API_PORT', '8000'), timeout=3)"]

ENTRYPOINT ["tini", "--", "contacts-api"]
CMD ["serve"]
