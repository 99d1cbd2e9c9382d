#!/usr/bin/env bash
# `unpack-debs.sh DEST PACKAGE...`: downloads Debian packages (apt-get download, no install) and
# unpacks them into DEST, for Python modules on machines without PyPI.
set -euo pipefail
dest=$1
shift
download=$(mktemp -d)
trap 'rm -rf "$download"' EXIT
if ! (cd "$download" && apt-get download "$@" >/dev/null 2>&1); then
  apt-get update -qq >/dev/null
  (cd "$download" && apt-get download "$@" >/dev/null)
fi
mkdir -p "$dest"
for deb in "$download"/*.deb; do dpkg -x "$deb" "$dest"; done
