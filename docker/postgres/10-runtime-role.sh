#!/bin/sh
# Run once by the postgres image when it creates its data directory
# (/docker-entrypoint-initdb.d): the runtime role the api replicas run as. The
# image's POSTGRES_USER (observernet) owns the schema and runs `migrate`, which grants
# this role what the server needs, and no more (docs/security.md, Append-only history).
# A data directory made before this script existed: run the same SQL by hand
# (docs/operations.md, Database roles).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v app_password="$POSTGRES_APP_PASSWORD" <<'SQL'
CREATE ROLE observernet_app LOGIN PASSWORD :'app_password';
GRANT observernet_app TO observernet;
SQL
