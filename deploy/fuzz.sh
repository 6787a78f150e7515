#!/usr/bin/env bash
# Coverage-guided fuzzing of the protocol decoders and the link codec with libFuzzer
# (docs/fuzzing.md). The harness in Tests/Fuzz is built in a scratch package made of links to
# this checkout's parser folders, so the sanitizers never touch the root package's build.
#
# Usage: deploy/fuzz.sh TARGET [SECONDS]      TARGET: smdr ami callerid telsa json link, or all
#                                             (SECONDS per target, 300 unless given)
#        deploy/fuzz.sh repro TARGET FILE...  replays inputs through a plain debug build
#        deploy/fuzz.sh repro                 replays every committed regression input
# Environment:
#   TAMAS_FUZZ_DIR=DIR        scratch folder (default .build-fuzz): the package, builds, seeds,
#                             grown corpora (kept between runs), crashes, logs
#   TAMAS_FUZZ_CHECKOUTS=DIR  swift-nio and its dependencies (default .build/checkouts, as left
#                             by `swift package resolve` in the repository)
#   TAMAS_FUZZ_JOBS=N         build jobs (default: all cores)
#   FUZZ_STRICT=1             the harness also traps on invalid events and broken round trips
# Exits non-zero when a run found a crash, timeout or out-of-memory input.
set -euo pipefail
cd "$(dirname "$0")/.."
repository=$PWD
scratch=$(mkdir -p "${TAMAS_FUZZ_DIR:-.build-fuzz}" && cd "${TAMAS_FUZZ_DIR:-.build-fuzz}" && pwd)
package=$scratch/package
checkouts=${TAMAS_FUZZ_CHECKOUTS:-$repository/.build/checkouts}
jobs=${TAMAS_FUZZ_JOBS:-$(nproc)}
# Where the tests find them too (Tests/TestSupport/Fixtures.swift): shared/ beside the checkout.
fixtures=$repository/../shared/fixtures
# Of TamasLink only the sans-I/O codec: the rest of that folder needs TLS, X509 and logging.
linked_sources=(Shared/TamasEvents Shared/TamasLink/LinkFrameCodec.swift Shared/TamasLink/LinkMessage.swift
                Agents/Sources/SMDR/Protocol Agents/Sources/AMI/Protocol Agents/Sources/CallerID/Protocol
                Agents/Sources/Telsa/Protocol Agents/Sources/JSONL/Protocol)

usage() { sed -n '6,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

module_name() {
    case "$1" in
        smdr) echo SMDR ;; ami) echo AMI ;; callerid) echo CallerID ;; telsa) echo Telsa ;; json) echo JSON ;; link) echo Link ;;
        *) echo "unknown target: $1" >&2; usage ;;
    esac
}

assemble_package() {
    for dependency in swift-nio swift-atomics swift-collections swift-system; do
        if [[ ! -f "$checkouts/$dependency/Package.swift" ]]; then
            echo "fuzz.sh: $checkouts/$dependency is missing. Run \`swift package resolve\` in $repository first" \
                 "(needs the network once), or point TAMAS_FUZZ_CHECKOUTS at a folder holding" \
                 "swift-nio, swift-atomics, swift-collections and swift-system." >&2
            exit 1
        fi
    done
    # Links rather than copies: a copied file is a new file to the build system, which then
    # recompiles every parser under the sanitizers (minutes) on each run.
    rm -rf "${package:?}"
    mkdir -p "$package"
    for source in "${linked_sources[@]}" Tests/Fuzz/Package.swift Tests/Fuzz/Sources Tests/Fuzz/Stubs; do
        local link=$package/${source#Tests/Fuzz/}
        mkdir -p "$(dirname "$link")"
        ln -s "$repository/$source" "$link"
    done
    ln -s "$(cd "$checkouts" && pwd)" "$package/checkouts"
}

build() {
    local configuration=$1 product=$2; shift 2
    # Local swift-nio: take its own dependencies from the sibling checkouts, never the network.
    SWIFTCI_USE_LOCAL_DEPS=1 swift build --package-path "$package" --scratch-path "$scratch/build-$configuration" \
        -c "$configuration" --jobs "$jobs" --product "$product" "$@"
}

fuzz() {
    local target=$1 seconds=$2 module max_length findings_before findings log status
    module=$(module_name "$target")
    if [[ ! -d "$fixtures" ]]; then
        echo "fuzz.sh: no fixtures at $fixtures: the seeds are made from them (shared/ beside the checkout)." >&2
        exit 1
    fi
    echo "== $target: building Fuzz (fuzzer + address sanitizer)"
    # Explicit returns: `fuzz ... || failed=1` runs this function with errexit off.
    build release Fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -g || return 1
    rm -rf "$scratch/seeds"
    mkdir -p "$scratch/corpus/$module" "$scratch/crashes/$module" "$scratch/logs"
    python3 Tests/Fuzz/make_seeds.py "$repository" "$fixtures" "$scratch/seeds" >/dev/null || return 1
    local dictionaries=(Tests/Fuzz/dicts/numbers.dict)
    [[ -f Tests/Fuzz/dicts/$target.dict ]] && dictionaries+=("Tests/Fuzz/dicts/$target.dict")
    cat "${dictionaries[@]}" > "$scratch/$target.dict"
    case "$target" in ami | link) max_length=16384 ;; *) max_length=8192 ;; esac
    local regressions=()
    [[ -d Tests/Fuzz/regressions/$module ]] && regressions=("Tests/Fuzz/regressions/$module")
    findings_before=$(find "$scratch/crashes/$module" -type f | wc -l)
    log=$scratch/logs/$module.log
    echo "== $target: fuzzing for $seconds s${FUZZ_STRICT:+ (strict)}, log $log"
    # One job at a time (-fork=1) that is restarted after a crash, so one run can report several;
    # the Swift backtracer is off because its memory server trips ASan and can hang after a trap.
    status=0
    TAMAS_FUZZ_TARGET=$module SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 "$scratch/build-release/release/Fuzz" \
        "$scratch/corpus/$module" "$scratch/seeds/$module" "${regressions[@]}" -dict="$scratch/$target.dict" \
        -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 -timeout=5 -rss_limit_mb=2048 \
        -max_len=$max_length -max_total_time="$seconds" -artifact_prefix="$scratch/crashes/$module/" >"$log" 2>&1 || status=$?
    findings=$(( $(find "$scratch/crashes/$module" -type f | wc -l) - findings_before ))
    # Fork mode's status lines: "#RUNS: cov: N ft: N corp: N exec/s: N oom/timeout/crash: A/B/C time: ...".
    local last
    last=$(grep -E '^#[0-9]+: cov:' "$log" | tail -n 1 || true)
    if [[ -z "$last" ]]; then
        echo "$target: no status from the fuzzer (exit $status), see $log"
        return 1
    fi
    awk -v target="$target" -v findings="$findings" -v folder="$scratch/crashes/$module" '{
        runs = substr($1, 2, length($1) - 2)
        printf "%s: %s runs, coverage %s edges / %s features, corpus %s, oom/timeout/crash %s, new findings %d%s\n",
               target, runs, $3, $5, $7, $11, findings, (findings > 0 ? " in " folder : "")
    }' <<<"$last"
    [[ $findings -eq 0 && $status -eq 0 ]]
}

replay() {
    local module=$1; shift
    SWIFT_BACKTRACE=enable=yes,interactive=no "$scratch/build-debug/debug/Repro" "$module" "$@"
}

[[ $# -ge 1 ]] || usage
assemble_package
case "$1" in
    repro)
        shift
        echo "== building Repro (debug, no sanitizer)"
        build debug Repro
        if [[ $# -eq 0 ]]; then
            failed=0
            for folder in Tests/Fuzz/regressions/*/; do
                replay "$(basename "$folder")" "$folder"* || failed=1
            done
            exit $failed
        fi
        [[ $# -ge 2 ]] || usage
        module=$(module_name "$1"); shift
        replay "$module" "$@"
        ;;
    all)
        failed=0
        for target in smdr ami callerid telsa json link; do fuzz "$target" "${2:-300}" || failed=1; done
        exit $failed
        ;;
    *)
        fuzz "$1" "${2:-300}"
        ;;
esac
