#!/usr/bin/env bash
# One backup of the Hotline Roster database: `pg_dump -Fc` of DATABASE_URL into BACKUP_DIR,
# named by UTC time; dumps older than KEEP_DAYS deleted. docs/deployment.md#backups.
# The dump holds call notes and callback numbers ENCRYPTED: keep FIELD_ENCRYPTION_KEYS (and
# CALLER_HASH_SECRET, SECRET_KEY) safe elsewhere, or a restored database cannot be read.
set -euo pipefail
: "${DATABASE_URL:?DATABASE_URL is not set}"
BACKUP_DIR=${BACKUP_DIR:-/var/backups/hotline}
KEEP_DAYS=${KEEP_DAYS:-35}
umask 077
mkdir -p "$BACKUP_DIR"
name="hotline-$(date -u +%Y%m%dT%H%M%SZ).dump"
# Written under a temporary name first: a dump cut off half-way is never taken for a backup.
pg_dump --format=custom --no-owner --no-privileges --file="$BACKUP_DIR/.$name.part" "$DATABASE_URL"
mv "$BACKUP_DIR/.$name.part" "$BACKUP_DIR/$name"
pg_restore --list "$BACKUP_DIR/$name" >/dev/null   # readable, or this run fails
find "$BACKUP_DIR" -maxdepth 1 -name 'hotline-*.dump' -mtime +"$KEEP_DAYS" -delete
echo "$BACKUP_DIR/$name"
