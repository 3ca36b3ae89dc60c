#!/usr/bin/env bash
# make bench: the page benchmarks on PostgreSQL (a database of their own, created if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
URL="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/registry_bench}"
NAME="${URL##*/}"
BASE="${URL%/*}"
if ! psql "$BASE/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname='$NAME'" | grep -q 1; then
    psql "$BASE/postgres" -qc "CREATE DATABASE \"$NAME\""
fi
export DATABASE_URL="$URL"
.venv/bin/python manage.py migrate --noinput -v0
.venv/bin/python manage.py load_demo -v0 >/dev/null
.venv/bin/python bench/pages_bench.py "$@"
