#!/usr/bin/env bash
# Builds Tamas and runs the collector on its embedded defaults (SQLite, a self-signed TLS identity
# made on first start) with a demo agent feeding sample calls over TLS on loopback.
# Data goes to ./demo-data; stop with Ctrl-C. In another terminal:
#   export TAMAS_DATA_DIR=demo-data
#   .build/debug/tamasctl agents
#   .build/debug/tamasctl calls
#   .build/debug/tamasctl events --follow
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh
swift build
exec .build/debug/tamas-collector run --data-dir demo-data --listen 127.0.0.1:7443 --http 127.0.0.1:8080 --demo "$@"
