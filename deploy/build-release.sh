#!/usr/bin/env bash
# Builds the release binaries as they are installed (docs/operations.md) and measured
# (docs/performance.md): the Swift runtime and Foundation are linked into each binary
# (--static-swift-stdlib), which takes an idle agent's peak RSS from 43 MB to 33 MB.
# Products are built one by one because building the whole package also builds the test
# helpers, and XCTest has no static library.
# Usage: deploy/build-release.sh [more products, e.g. tamas-bench]
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh
for product in tamas-agent tamas-collector tamasctl "$@"; do
    swift build -c release --static-swift-stdlib --product "$product"
done
