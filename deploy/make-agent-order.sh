#!/usr/bin/env bash
# Writes deploy/tamas-agent.order: the functions agents run from start-up until they idle,
# connected to a collector: a JSONL agent following an empty file, then an SMDR agent on a
# serial port (a pseudo-terminal here) that has no line yet. deploy/build-release.sh hands the
# list to the linker, which puts those functions next to each other (docs/performance.md).
# Run it after changes to the agent's start-up path; an outdated order still links, it only
# keeps more of the binary resident. Needs valgrind and perf (installed here when missing).
# Usage: deploy/make-agent-order.sh        (TAMAS_BUILD_PATH=DIR: build in DIR, as build-release.sh)
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
root=$PWD
binaries=${TAMAS_BUILD_PATH:-.build}/release

for tool in valgrind:valgrind perf:linux-perf; do
    if ! command -v "${tool%%:*}" >/dev/null; then
        sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${tool##*:}"
    fi
done

work=$(mktemp -d)
collector_pid=""
terminal_pid=""
cleanup() {
    for pid in "$collector_pid" "$terminal_pid"; do
        if [[ -n "$pid" ]]; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$work"
}
trap cleanup EXIT

link() { TAMAS_AGENT_ORDER="$1" deploy/build-release.sh >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }; }

port=$((20000 + RANDOM % 20000))
link "$root/deploy/tamas-agent.order"
"$binaries"/tamas-collector run --data-dir "$work/collector" --listen "127.0.0.1:$port" \
    --http "127.0.0.1:$((port + 1))" --log-level error &
collector_pid=$!
for _ in $(seq 50); do [[ -s "$work/collector/admin.token" ]] && break; sleep 0.2; done
tamasctl() { "$binaries"/tamasctl "$@" --url "http://127.0.0.1:$((port + 1))" --data-dir "$work/collector"; }

# The SMDR agent's serial port: a pseudo-terminal held open, its name in $work/terminal.
python3 -c '
import os, pty, sys, time
controller, device = pty.openpty()
open(sys.argv[1], "w").write(os.ttyname(device))
time.sleep(86400)' "$work/terminal" &
terminal_pid=$!
for _ in $(seq 50); do [[ -s "$work/terminal" ]] && break; sleep 0.2; done

# A fresh enrollment and spool per run, so every run starts the way a new installation does.
run=0
new_agent_config() {
    local kind=$1
    run=$((run + 1))
    config=$work/agent-$run.yaml
    tamasctl agents add "order-$run" --system order --config-out "$config" >/dev/null
    sed -i "s#^  path: .*#  path: $work/spool-$run.sqlite#" "$config"
    printf 'log:\n  level: warning\n' >>"$config"
    case $kind in
    jsonl)
        : >"$work/feed.jsonl"
        printf 'jsonl:\n  input: %s\n  follow: true\n' "$work/feed.jsonl" >>"$config"
        ;;
    smdr)
        printf 'smdr:\n  model: KX-TDE100\n  dateFormat: dd/mm/yy\n  timeZone: Asia/Tehran\n  serial:\n    port: %s\n' \
            "$(cat "$work/terminal")" >>"$config"
        ;;
    esac
}
# Waits until agent order-$run is connected, then lets it idle through a few heartbeats and
# polls of its input, which run code of their own.
wait_until_connected() {
    for _ in $(seq 600); do
        if tamasctl agents --json | python3 -c "
import json, sys
sys.exit(0 if any(a['name'] == 'order-$run' and a['connected'] for a in json.load(sys.stdin)) else 1)"; then
            sleep 20
            return
        fi
        sleep 0.5
    done
    echo "agent order-$run did not connect within 5 minutes" >&2
    exit 1
}

# Appends the names on standard input that $work/order does not have yet.
add_to_order() {
    python3 deploy/agent-order.py merge "$work/order" /dev/stdin >"$work/merged"
    mv "$work/merged" "$work/order"
}

# Pass 1: every instruction callgrind sees. Valgrind 3.19 cannot read the DWARF 5 that Swift
# writes, so it runs a copy without debug information (same symbols, same addresses).
llvm-objcopy --strip-debug "$binaries"/tamas-agent "$work/tamas-agent"
: >"$work/order"
for kind in jsonl smdr; do
    new_agent_config "$kind"
    rm -f "$work/callgrind.out"*
    valgrind --tool=callgrind --dump-instr=yes --callgrind-out-file="$work/callgrind.out" \
        "$work/tamas-agent" "$kind" --config "$config" >"$work/valgrind.log" 2>&1 &
    valgrind_pid=$!
    wait_until_connected
    # The dump is written while the agent idles; callgrind_control returns before it is complete.
    callgrind_control -d "$valgrind_pid" >/dev/null
    size=-1
    while [[ ! -s "$work/callgrind.out.1" || $(stat -c %s "$work/callgrind.out.1") != "$size" ]]; do
        size=$(stat -c %s "$work/callgrind.out.1" 2>/dev/null || echo 0)
        sleep 2
    done
    kill -9 "$valgrind_pid"; wait "$valgrind_pid" 2>/dev/null || true
    python3 deploy/agent-order.py callgrind "$work/callgrind.out.1" "$work/tamas-agent" | add_to_order
done

# Passes 2-5: what native runs still fault in outside the ordered functions.
for _ in 1 2 3 4; do
    link "$work/order"
    for kind in jsonl smdr; do
        new_agent_config "$kind"
        perf record -q -e page-faults -c 1 -d -o "$work/perf.data" "$binaries"/tamas-agent "$kind" --config "$config" \
            >/dev/null 2>&1 &
        perf_pid=$!
        wait_until_connected
        kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true
        python3 deploy/agent-order.py faults "$work/perf.data" "$binaries"/tamas-agent | add_to_order
    done
done

{
    echo "# Written by deploy/make-agent-order.sh on $(date -u +%F) from $(git rev-parse --short HEAD): the functions"
    echo "# idle JSONL and SMDR agents run, in the order they are first seen. Read by deploy/build-release.sh."
    cat "$work/order"
} >deploy/tamas-agent.order
link "$root/deploy/tamas-agent.order"
echo "deploy/tamas-agent.order: $(grep -vc '^#' deploy/tamas-agent.order) functions"
