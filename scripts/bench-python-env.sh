#!/usr/bin/env bash
# Runs a command (the bench's peer proxy) with a python3 that imports fastapi, uvicorn and httpx.
# Order: what is installed → pip (what a user of that design installs: uvicorn[standard], so
# uvloop and httptools) → Debian's packages unpacked into the git-ignored .python-deps/bench-peer/
# (machines without PyPI). Idempotent; the second run is a single import. Logs go to stderr: the
# command's stdout is the bench's to read.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
deps="$root/.python-deps/bench-peer"
# Its own directory, first on the path: Debian's FastAPI wants its own pydantic 1, which must
# shadow a pydantic 2 installed for the pipe, in the peer's process only.
export PYTHONPATH="$deps/usr/lib/python3/dist-packages${PYTHONPATH:+:$PYTHONPATH}"
ready='import fastapi, uvicorn, httpx'

ensure() {
  if python3 -c "$ready" 2>/dev/null; then return 0; fi
  if [ -z "${PYTHON_ENV_FORCE_DEBIAN:-}" ]; then
    for flags in "" "--user"; do
      # shellcheck disable=SC2086
      if python3 -m pip install --quiet --disable-pip-version-check $flags fastapi 'uvicorn[standard]' httpx >&2 2>/dev/null \
        && python3 -c "$ready" 2>/dev/null; then
        return 0
      fi
    done
  fi
  echo "bench-python-env: pip could not provide fastapi; unpacking Debian's packages into .python-deps/bench-peer/" >&2
  # The whole set from one release, so that its versions fit each other.
  # Without uvloop and httptools (their C libraries are not on the loader's path when unpacked):
  # uvicorn then runs on asyncio and h11, which the peer reports and the bench table shows.
  local packages=(python3-fastapi python3-starlette python3-pydantic python3-typing-extensions
    python3-anyio python3-sniffio python3-idna python3-uvicorn python3-asgiref python3-h11
    python3-click python3-httpx python3-httpcore python3-certifi python3-rfc3986)
  "$root/scripts/unpack-debs.sh" "$deps" "${packages[@]}"
  if ! python3 -c "$ready"; then
    echo "bench-python-env: python3 still cannot import fastapi, uvicorn and httpx" >&2
    return 1
  fi
}

ensure
exec "$@"
