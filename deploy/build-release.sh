#!/usr/bin/env bash
# Builds the release binaries as they are installed (docs/operations.md) and measured
# (docs/performance.md):
# - the Swift runtime and Foundation are linked into each binary (--static-swift-stdlib), which
#   takes an idle agent's peak RSS from 43 MB to 33 MB;
# - every function gets its own section, so that the linker can place the ones a starting agent
#   runs (deploy/tamas-agent.order, written by deploy/make-agent-order.sh) next to each other:
#   the kernel maps a binary's code in 64 KiB windows around each page touched, and scattered
#   start-up code kept 17.6 MB of the agent's code resident (about 10 MB with the order).
# Products are built one by one because building the whole package also builds the test
# helpers, and XCTest has no static library.
# Usage: deploy/build-release.sh [more products, e.g. tamas-bench]
#        TAMAS_AGENT_ORDER=FILE deploy/build-release.sh   (another order file; make-agent-order.sh)
#        TAMAS_BUILD_PATH=DIR deploy/build-release.sh     (build in DIR instead of .build)
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh
order=${TAMAS_AGENT_ORDER:-$PWD/deploy/tamas-agent.order}
# Without -disable-incremental-llvm-codegen the compiler keeps objects from an earlier build
# whose code did not change, even when they were made without function sections.
function_sections=(-Xswiftc -Xfrontend -Xswiftc -function-sections -Xswiftc -Xfrontend -Xswiftc -disable-incremental-llvm-codegen
                   -Xcc -ffunction-sections)
for product in tamas-agent tamas-collector tamasctl "$@"; do
    ordering=()
    if [[ "$product" == tamas-agent && -s "$order" ]]; then
        # Names the order lists that a later change renamed or removed are skipped quietly.
        ordering=(-Xlinker "--symbol-ordering-file=$order" -Xlinker --no-warn-symbol-ordering)
    fi
    swift build -c release --scratch-path "${TAMAS_BUILD_PATH:-.build}" --static-swift-stdlib "${function_sections[@]}" "${ordering[@]}" --product "$product"
done
