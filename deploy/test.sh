#!/usr/bin/env bash
# Installs what the tests need, builds everything and runs the whole test suite: unit, golden,
# fuzz and end-to-end tests that start real collector and agent processes on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh --test
swift build --build-tests
swift test --skip-build "$@"
