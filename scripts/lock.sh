#!/usr/bin/env bash
# make lock: requirements.lock (the product's dependencies) and requirements-dev.lock (the same
# and the dev extras) from pyproject.toml, every package pinned with the hashes of its files.
# make setup, CI and the Dockerfile install from them with `pip install --require-hashes`.
#
#   make lock                         add what pyproject.toml added, keep every other pin
#   UPGRADE=1 make lock               move every pin to the newest release pyproject.toml allows
#   UPGRADE_PACKAGE="celery" make lock  move only these packages
#
# The locks hold for CPython 3.11 and later on Linux (and anywhere: what only Windows or an
# older 3.11 needs carries its environment marker). The dev lock is resolved under the runtime
# lock, so both pin the product's packages alike. Packages come from PyPI, or from the index
# pip is configured with (PIP_INDEX_URL or pip's global.index-url); pip's extra indexes and
# find-links are not read, and an install from them still has to match the locked hashes.
# uv runs from a virtualenv of its own outside the project (LOCK_TOOL_VENV): installing the
# project never needs it.
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION=0.13.9
TOOL="${LOCK_TOOL_VENV:-${TMPDIR:-/tmp}/registry-lock-tool-$UV_VERSION}"
if [[ ! -x "$TOOL/bin/uv" ]]; then
    python3 -m venv "$TOOL"
    "$TOOL/bin/pip" install -q "uv==$UV_VERSION"
fi

args=(--quiet --generate-hashes --universal --python-version 3.11
      --custom-compile-command "make lock")
if [[ "${UPGRADE:-}" == 1 ]]; then
    args+=(--upgrade)
fi
for package in ${UPGRADE_PACKAGE:-}; do
    args+=(--upgrade-package "$package")
done
index="${PIP_INDEX_URL:-$(python3 -m pip config get global.index-url 2>/dev/null || true)}"
if [[ -n "$index" ]]; then
    args+=(--index-url "$index")
fi

"$TOOL/bin/uv" pip compile pyproject.toml "${args[@]}" -o requirements.lock
"$TOOL/bin/uv" pip compile pyproject.toml --extra dev -c requirements.lock "${args[@]}" \
    -o requirements-dev.lock
echo "requirements.lock: $(grep -c '^[a-z0-9]' requirements.lock) packages;" \
    "requirements-dev.lock: $(grep -c '^[a-z0-9]' requirements-dev.lock)"
