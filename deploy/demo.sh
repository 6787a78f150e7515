#!/usr/bin/env bash
# Builds Tamas and runs the collector on its embedded defaults (SQLite, a self-signed TLS identity
# made on first start) with a demo agent feeding sample calls over TLS on loopback.
# Data goes to ./demo-data; stop with Ctrl-C. In another terminal:
#   .build/debug/tamasctl --data-dir demo-data agents
#   .build/debug/tamasctl --data-dir demo-data calls
#   .build/debug/tamasctl --data-dir demo-data events --follow
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh
swift build
exec .build/debug/tamas-collector run --data-dir demo-data --listen 127.0.0.1:7443 --http 127.0.0.1:8080 --demo "$@"
