#!/usr/bin/env bash
# JupyterLab with the nbprod extension, on a temporary copy of examples/churn
# (so saving, exporting and running there never dirties the repository).
#
#   VENV=/path/to/venv scripts/lab.sh [extra jupyter lab arguments]
#   LAB_DIR=examples/churn scripts/lab.sh     open the example itself instead
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${VENV:-$repo/.venv}"
export PATH="$venv/bin:$PATH"

if [[ -n "${LAB_DIR:-}" ]]; then
    folder="$(cd "$LAB_DIR" && pwd)"
else
    folder="$(mktemp -d "${TMPDIR:-/tmp}/nbprod-lab.XXXXXX")/churn"
    mkdir -p "$folder"
    tar -C "$repo/examples/churn" --exclude=./src --exclude=./tests --exclude=./runs \
        --exclude=./.nbprod --exclude=.ipynb_checkpoints -cf - . | tar -C "$folder" -xf -
    echo "working on a copy of examples/churn: $folder"
fi

args=(--notebook-dir="$folder" --no-browser)
# CI and containers run as root; jupyter refuses that without --allow-root
if [[ "$(id -u)" == 0 ]]; then
    args+=(--allow-root)
fi
exec "$venv/bin/jupyter" lab "${args[@]}" "$@"
