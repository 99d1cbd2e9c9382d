#!/usr/bin/env bash
# Makes `python3` import pydantic 2, aiohttp and pytest for the pipe's tests.
# Order: what is installed → pip (what real users have) → Debian's packages unpacked into the
# git-ignored .python-deps/ (machines without PyPI). Idempotent; the second run is a single import.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
deps="$root/.python-deps"
site="$deps/usr/lib/python3/dist-packages"
export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
ready='import sys, pydantic, aiohttp, pytest; sys.exit(0 if pydantic.VERSION.startswith("2.") else 1)'

if python3 -c "$ready" 2>/dev/null; then exit 0; fi

if [ -z "${PYTHON_ENV_FORCE_DEBIAN:-}" ]; then
  for flags in "" "--user"; do
    # shellcheck disable=SC2086
    if python3 -m pip install --quiet --disable-pip-version-check $flags aiohttp pytest 'pydantic>=2,<3' >&2 2>/dev/null \
      && python3 -c "$ready" 2>/dev/null; then
      exit 0
    fi
  done
fi

echo "python-env: pip could not provide aiohttp; unpacking Debian's python3-aiohttp into .python-deps/" >&2
# Only what is missing: an older Debian copy must not shadow a newer installed module.
packages=()
for pair in aiohttp:python3-aiohttp multidict:python3-multidict yarl:python3-yarl \
  frozenlist:python3-frozenlist aiosignal:python3-aiosignal async_timeout:python3-async-timeout \
  attr:python3-attr idna:python3-idna charset_normalizer:python3-charset-normalizer; do
  python3 -c "import ${pair%%:*}" 2>/dev/null || packages+=("${pair#*:}")
done
python3 -c 'import pytest' 2>/dev/null || packages+=(python3-pytest python3-pluggy python3-iniconfig python3-packaging)
python3 -c 'import pydantic, sys; sys.exit(0 if pydantic.VERSION.startswith("2.") else 1)' 2>/dev/null \
  || packages+=(python3-pydantic python3-pydantic-core python3-annotated-types)
"$root/scripts/unpack-debs.sh" "$deps" "${packages[@]}"
if ! python3 -c "$ready"; then
  echo "python-env: python3 still cannot import pydantic 2, aiohttp and pytest" >&2
  exit 1
fi
