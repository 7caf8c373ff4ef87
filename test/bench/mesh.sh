#!/usr/bin/env bash
# Routing mesh benchmark: orch mesh (its default: the nftables fast path when root; and its userspace
# proxy) vs direct and HAProxy, with wrk.
# Usage: test/bench/mesh.sh [--duration 5] [--connections 1,16,64] [--targets direct,naive,orch,orch-userspace,orch-1,haproxy]
# Installs Debian's wrk and haproxy when missing (needs root for that), compiles the bench and
# the mesh into a temp dir, runs, and removes everything it made.
set -euo pipefail
cd "$(dirname "$0")/../.."

missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v haproxy >/dev/null || missing+=(haproxy)
if [ "$(id -u)" = 0 ] && ! command -v nft >/dev/null; then missing+=(nftables); fi
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

out=$(mktemp -d /tmp/orch-bench-mesh-build.XXXXXX)
trap 'rm -rf "$out"' EXIT
node_modules/.bin/tsc --ignoreConfig --outDir "$out" --rootDir . --module nodenext --moduleResolution nodenext \
  --target es2022 --strict --skipLibCheck --esModuleInterop --types node \
  test/bench/mesh.ts test/bench/mesh-backend.ts test/bench/mesh-proxy.ts test/bench/mesh-naive.ts \
  src/mesh/mesh-worker-main.ts
ln -s "$PWD/node_modules" "$out/node_modules"
node "$out/test/bench/mesh.js" "$@"
