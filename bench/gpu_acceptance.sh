#!/usr/bin/env bash
# Every GPU figure from one command (see bench/gpu_acceptance.py and docs/PERFORMANCE.md).
#
#   bash bench/gpu_acceptance.sh            # on an H100/H200: full size, about 8 minutes
#   bash bench/gpu_acceptance.sh --tiny     # toy sizes on the CPU, a couple of minutes (CI)
#   WHEELS=/path/to/wheels OUT=/results bash bench/gpu_acceptance.sh
#
# On a fresh machine with only torch installed, WHEELS names a folder of wheels for the
# rest (evalsuite's dependencies and the accel extra); they are installed offline first.
# The markdown table is printed and, when OUT is set, written to $OUT/gpu_acceptance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
# Whether they are installed, without importing them (importing torch + diffusers costs seconds).
if ! "$PY" -c "import importlib.util as u, sys; sys.exit(any(u.find_spec(m) is None for m in ('evalsuite', 'diffusers', 'torchao', 'pynvml')))" 2>/dev/null; then
  if [ -z "${WHEELS:-}" ]; then
    echo "error: evalsuite's dependencies are not installed; set WHEELS to a folder of wheels" >&2
    exit 2
  fi
  "$PY" -m pip install -q --no-index --find-links "$WHEELS" -e ".[accel]"
fi
exec "$PY" bench/gpu_acceptance.py "$@"
