#!/bin/sh
# Renders PgBouncer's config and userlist, then runs PgBouncer in the foreground.
#
# Every ${NAME} in the template must be set in the environment (docker-compose.yml's pgbouncer
# service sets them). The userlist holds one line: PGBOUNCER_DB_USER with the password read from
# the file PGBOUNCER_DB_PASSWORD_FILE (a docker secret), written to PGBOUNCER_AUTH_FILE.
# PGBOUNCER_TEMPLATE and PGBOUNCER_CONFIG move the template and the rendered config (the tests
# run this script outside the image).
set -eu

template=${PGBOUNCER_TEMPLATE:-/etc/pgbouncer/pgbouncer.ini.template}
config=${PGBOUNCER_CONFIG:-/tmp/pgbouncer/pgbouncer.ini}
names=$(grep -o '\${[A-Z][A-Z0-9_]*}' "$template" | tr -d '${}' | sort -u)
for name in $names PGBOUNCER_DB_USER PGBOUNCER_DB_PASSWORD_FILE; do
    eval "value=\${$name-}"
    if [ -z "$value" ]; then
        echo "pgbouncer-entrypoint: $name is not set" >&2
        exit 1
    fi
done

umask 077
mkdir -p "$(dirname "$config")" "$(dirname "$PGBOUNCER_AUTH_FILE")"
# The userlist quotes names and passwords with double quotes; a double quote inside is doubled.
password=$(sed 's/"/""/g' "$PGBOUNCER_DB_PASSWORD_FILE")
user=$(printf '%s' "$PGBOUNCER_DB_USER" | sed 's/"/""/g')
printf '"%s" "%s"\n' "$user" "$password" > "$PGBOUNCER_AUTH_FILE"
# Only the template's own variables are substituted.
envsubst "$(printf '${%s} ' $names)" < "$template" > "$config"

exec pgbouncer "$config" "$@"
