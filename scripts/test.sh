#!/usr/bin/env bash
# The whole test suite: makes sure the system tools the tests use are present (openssl, etcd),
# builds the CLI, then runs every test file with Node's test runner.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-system-deps.sh
[ -d node_modules ] || npm ci
npm run --silent build
mapfile -t files < <(find test -name '*.test.ts' | sort)
exec node --import tsx --test --test-concurrency="${TEST_CONCURRENCY:-3}" --test-timeout=300000 "${files[@]}"
