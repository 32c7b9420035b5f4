#!/usr/bin/env bash
# Installs the static-site builders that test/builds.test.ts runs (exact versions in
# test/builds/package.json, pinned by test/builds/bun.lock) into a cache outside the
# repository, keyed by those two files: the network is used only when the key is new,
# and the tests run offline. Prints the directory. FAZT_TEST_BUILDS moves the cache.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
key="$(cat "$here/package.json" "$here/bun.lock" | sha256sum | cut -c1-16)"
dir="${FAZT_TEST_BUILDS:-$HOME/.cache/fazt-test-builds}/$key"
if [ -f "$dir/.complete" ]; then
  echo "$dir"
  exit 0
fi
mkdir -p "$(dirname "$dir")"
tmp="$(mktemp -d "$dir.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
cp "$here/package.json" "$here/bun.lock" "$tmp/"
(cd "$tmp" && bun install --frozen-lockfile >&2)
touch "$tmp/.complete"
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
echo "$dir"
