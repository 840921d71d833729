#!/usr/bin/env bash
# Restore a dump made by backup.sh into a NEW, empty database, then check it.
#     deploy/restore.sh DUMP postgres://user@host:5432/hotline_restored
# Stop the web servers and workers before pointing DATABASE_URL at the restored database
# (docs/deployment.md#restoring). Never restores over an existing database.
set -euo pipefail
dump=${1:?usage: restore.sh DUMP TARGET_DATABASE_URL}
target=${2:?usage: restore.sh DUMP TARGET_DATABASE_URL}
tables=$(psql "$target" -Atc "select count(*) from pg_tables where schemaname = 'public'")
if [ "$tables" != "0" ]; then
  echo "restore.sh: $target is not empty ($tables tables); create a new database" >&2
  exit 1
fi
pg_restore --no-owner --no-privileges --exit-on-error --single-transaction --dbname="$target" "$dump"
# The migrations the dump was made with must be the code's: `migrate --check` says so.
DATABASE_URL="$target" "${PY:-.venv/bin/python}" manage.py migrate --check >/dev/null \
  || echo "restore.sh: the restored database needs migrations (an older dump): run migrate" >&2
psql "$target" -Atc "select 'calls', count(*) from hotline_call union all select 'assignments', count(*) from scheduling_assignment union all select 'messages', count(*) from hotline_message"
