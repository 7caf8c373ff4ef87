#!/usr/bin/env bash
# Service convergence benchmark (issue #6): orch (1 manager + 1 worker, Docker executor) against
# Docker Engine's swarm mode on the same engine with the same local image; see docs/benchmarks.md.
# Usage: test/bench/convergence.sh [--repeat 3] [--cases create-1,create-10,create-50,scale,recover,recover-0]
#                                  [--systems swarm,orch,engine] [--log-level info] [--timeout 180]
#                                  [--keep-logs DIR]   (copies the orch daemons' logs there, e.g. with --log-level debug)
# BENCH_ORCH_BIN=/path/to/dist/cmd/orch.js measures another orch build (e.g. one with a proposed fix).
# Needs root (or a user of the docker group) and refuses an engine that is already in a swarm.
# Makes sure the engine and orch/busybox:latest exist, rebuilds dist/ when it is missing or older
# than the sources, and removes everything it made (daemons, containers, services, the swarm it
# initialized, temp dirs) on success, failure and Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/../.."

scripts/docker-engine
scripts/build-image

stale() {
  [ ! -f dist/cmd/orch.js ] ||
    [ -n "$(find src cmd proto raft package.json tsconfig.json tsconfig.build.json -newer dist/cmd/orch.js \
      -not -path 'src/api/gen/*' -print -quit)" ]
}
if stale; then
  if ! npm run --silent build; then
    [ -f dist/cmd/orch.js ] || { echo "convergence: the build failed and there is no dist/" >&2; exit 1; }
    echo "convergence: WARNING: the build failed; measuring the existing dist/ ($(date -r dist/cmd/orch.js))" >&2
  fi
fi

work=$(mktemp -d /tmp/orch-bench-convergence-run.XXXXXX)
state=$work/state.json
hook=./test/support/ts-hook.cjs
cleanup() {
  if [ -s "$state" ]; then node -r "$hook" test/bench/convergence-cleanup.ts "$state" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
node -r "$hook" test/bench/convergence.ts --state "$state" "$@"
