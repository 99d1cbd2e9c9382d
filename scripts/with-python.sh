#!/usr/bin/env bash
# Runs a command with a python3 that imports pydantic 2, aiohttp and pytest (see python-env.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/python-env.sh"
export PYTHONPATH="$root/.python-deps/usr/lib/python3/dist-packages${PYTHONPATH:+:$PYTHONPATH}"
exec "$@"
