#!/usr/bin/env bash
# make bench: every benchmark on PostgreSQL, each in a fresh database of its own, then one
# table of all their figures (var/bench/summary.md keeps it, with the machine's description).
# Each bench's figures go to var/bench/summary-<bench>.jsonl: BENCH_ONLY runs some benches
# again and the table keeps the others' last figures.
#
#   BENCH_DATABASE_URL  server and name prefix (default postgres://postgres@127.0.0.1:5432/registry_bench)
#   BENCH_ONLY          run only these benches, e.g. "pages jobs"
#   BENCH_SMALL=1       tiny sizes: checks that every bench still runs (the test suite does)
#   BENCH_OUT           where the logs and the table go (default var/bench)
set -euo pipefail
cd "$(dirname "$0")/.."
URL="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/registry_bench}"
PREFIX="${URL##*/}"
BASE="${URL%/*}"
PY=.venv/bin/python
OUT="${BENCH_OUT:-var/bench}"
if [[ "${BENCH_SMALL:-}" == 1 ]]; then
    PAGES=(--pilots 300 --small 100 --repeat 3 --search-pilots 500)
    OVERLAP=(--sizes 400 --pairs 20 --baseline-queries 5)
    PDF=(--sizes 40 --compare-sizes 40 --part-rows 10)
    EXCEL=(--export-rows 300 --import-rows 100 --engines ours openpyxl_normal)
    JOBS=(--pilots 400 --baseline-every 4)
    JOBS_CHECK=(--pilots 200 --sample-check 4)
else
    PAGES=()
    OVERLAP=()
    # One document of the whole table takes minutes beyond a few thousand rows: compared at
    # 2,000; 10,000 rows on every core alone, for its time and memory.
    PDF=(--sizes 2000 10000 --compare-sizes 2000)
    # openpyxl's write-only mode (an earlier writer) and XlsxWriter are left to excel_bench.py.
    EXCEL=(--export-rows 50000 --engines rows_only ours openpyxl_normal)
    # The per-pilot baseline checks one pilot in ten, its time scaled up (bench/jobs_bench.py).
    JOBS=(--pilots 100000 --baseline-every 10)
    JOBS_CHECK=(--pilots 10000 --sample-check 10)
fi
BENCHES=(pages overlap pdf excel jobs)
mkdir -p "$OUT"
export LOG_LEVEL="${LOG_LEVEL:-WARNING}"

fresh_db() {  # drop and create a bench database; prints its URL
    local name="${PREFIX}_$1"
    PGOPTIONS="-c client_min_messages=warning" psql "$BASE/postgres" -qc "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)" >/dev/null
    psql "$BASE/postgres" -qc "CREATE DATABASE \"$name\"" >/dev/null
    echo "$BASE/$name"
}

machine() {
    echo "- CPU: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
    echo "- RAM: $(free -g | awk '/^Mem:/ {print $2}') GB; $(uname -srm)"
    echo "- $(psql "$BASE/postgres" -tAc 'SELECT version()' | cut -d, -f1); $($PY --version)"
    echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
}

want() { [[ -z "${BENCH_ONLY:-}" || " $BENCH_ONLY " == *" $1 "* ]]; }

step() {  # step NAME COMMAND…: run one bench, keep its output, time it
    local name="$1"
    shift
    echo
    echo "== $name =="
    local started=$SECONDS
    export BENCH_SUMMARY="$OUT/summary-$name.jsonl"
    : >"$BENCH_SUMMARY"
    if ! "$@" 2>&1 | tee "$OUT/$name.log"; then
        echo "$name: a target missed or the bench failed (see $OUT/$name.log)"
        failed=1
    fi
    echo "($name: $((SECONDS - started)) s)" | tee -a "$OUT/durations.txt"
}

started=$SECONDS
failed=0
[[ -n "${BENCH_ONLY:-}" ]] || : >"$OUT/durations.txt"
machine | tee "$OUT/machine.md"

if want pages; then
    DB=$(fresh_db pages)
    DATABASE_URL="$DB" $PY manage.py migrate --noinput -v0
    DATABASE_URL="$DB" $PY manage.py load_demo -v0 >/dev/null
    $PY manage.py collectstatic --noinput -v0
    step pages env DATABASE_URL="$DB" $PY bench/pages_bench.py "${PAGES[@]}"
fi
if want overlap; then
    # --keep: the database is dropped with the next run; removing the rows would only cost time.
    step overlap env DATABASE_URL="$(fresh_db overlap)" $PY bench/overlap_bench.py --keep "${OVERLAP[@]}"
fi
if want pdf; then
    step pdf $PY bench/pdf_bench.py --database-url "$(fresh_db pdf)" "${PDF[@]}"
fi
if want excel; then
    step excel env DATABASE_URL="$(fresh_db excel)" $PY bench/excel_bench.py "${EXCEL[@]}"
fi
if want jobs; then
    step jobs env DATABASE_URL="$(fresh_db jobs)" $PY bench/jobs_bench.py "${JOBS[@]}"
    # The extrapolation checked: at 10,000 pilots the baseline runs in full and sampled.
    step jobs-check env DATABASE_URL="$(fresh_db jobs10k)" $PY bench/jobs_bench.py "${JOBS_CHECK[@]}"
fi

echo
echo "== 汇总 =="
files=()
for bench in "${BENCHES[@]}"; do files+=("$OUT/summary-$bench.jsonl"); done
if want jobs; then files+=("$OUT/summary-jobs-check.jsonl"); fi
$PY bench/summary.py "${files[@]}" --markdown "$OUT/table.md"
total=$((SECONDS - started))
{
    echo "Run of $(date -u '+%Y-%m-%d %H:%M') UTC, $((total / 60)) min $((total % 60)) s in all${BENCH_ONLY:+ (only $BENCH_ONLY; the other rows are from the previous run)}:"
    echo
    cat "$OUT/machine.md"
    echo "- load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    cat "$OUT/table.md"
} >"$OUT/summary.md"
echo
echo "make bench: $((total / 60)) min $((total % 60)) s; table and machine in $OUT/summary.md"
exit $failed
