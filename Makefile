# orch's build, test and demo entry points. `make test` and `make demo` each install what they need.
SHELL := /bin/bash
BIN := node_modules/.bin
JEST_ARGS ?=

.PHONY: all deps proto build lint engine tools image test sim bench-raft bench-mesh bench-convergence bench-scale demo demo-down clean

all: build

# Install only when package.json or the lock file changed since the last install. Not `npm ci`:
# it refuses lock files written here (npm 11 leaves other platforms' optional packages out);
# `npm install` installs the versions pinned in the lock file.
node_modules/.install-stamp: package.json package-lock.json
	npm install --no-audit --no-fund
	@touch $@

deps: node_modules/.install-stamp

proto: deps
	npm run --silent proto

build: deps
	npm run --silent build

# Format and lint (biome) and type-check everything, tests included.
lint: build
	$(BIN)/biome check .
	$(BIN)/tsc --noEmit -p .

# A Docker engine and the local test image. Without CI=true a machine that cannot run an engine
# still runs the rest of the suite; the Docker tests then skip loudly. Under CI=true it is an error.
engine:
	@if [ "$$CI" = true ]; then scripts/docker-engine; \
	else scripts/docker-engine || echo "make: WARNING: no Docker engine; Docker tests will be skipped" >&2; fi

# Debian tools the tests drive for real (nftables, gcc with a static libc): scripts/install-tools.
tools:
	scripts/install-tools

image: engine
	@if docker info >/dev/null 2>&1; then scripts/build-image; fi

test: lint image tools
	$(BIN)/jest --ci $(JEST_ARGS)

# The deterministic Raft simulator, e.g. `make sim SEEDS=2000 FROM=1`.
SEEDS ?= 200
FROM ?= 1
sim: build
	npm run --silent sim -- --seeds $(SEEDS) --from $(FROM)

# Benchmarks against a reference on this machine (never part of `make test`); results in docs/benchmarks.md.
bench-raft: build
	test/bench/raft-vs-etcd.sh

bench-mesh: build
	test/bench/mesh.sh

bench-convergence: build image
	test/bench/convergence.sh

bench-scale: build
	node -r ./test/support/ts-hook.cjs test/bench/hollow-scale.ts

# A local cluster (1 manager, 2 workers on 127.0.0.2-4) running a sample service on the real engine.
demo: build image
	scripts/demo

demo-down:
	scripts/demo down

clean:
	rm -rf dist src/api/gen node_modules/.install-stamp
