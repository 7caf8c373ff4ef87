#!/usr/bin/env bash
# Runs the orch-vs-etcd Raft benchmark (test/bench/raft-vs-etcd.ts), then the restart-time measurement
# of a 1,000,000-entry log (test/bench/raft-vs-etcd-restart.ts). Builds dist/ first when it is missing.
# Environment: BENCH_SEQUENTIAL_PUTS, BENCH_CONCURRENT_PUTS, BENCH_ROUNDS, BENCH_WARMUP_PUTS,
# BENCH_RESTART_ENTRIES (0 skips it).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -f dist/raft/examples/kv/main.js ] || npm run --silent build
hook=./test/support/ts-hook.cjs
node -r "$hook" test/bench/raft-vs-etcd.ts
if [ "${BENCH_RESTART_ENTRIES:-1000000}" != 0 ]; then
  node -r "$hook" test/bench/raft-vs-etcd-restart.ts
fi
