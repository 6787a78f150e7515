#!/usr/bin/env bash
# Installs the Debian packages Tamas builds and tests with, only those that are missing.
# Usage: deploy/install-deps.sh [--test]   (--test adds what the test suite runs against)
set -euo pipefail

packages=(libsqlite3-dev libssl-dev libssh2-1-dev openssl python3 ca-certificates)
testing=false
if [[ "${1:-}" == "--test" ]]; then
    testing=true
    # openssh-server: the recording-download tests start their own sshd on loopback.
    # curl: tests read /metrics and call the API as an operator's script would.
    packages+=(procps openssh-server curl)
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then
    sudo="sudo"
fi

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]} > 0)); then
    if [[ -n "$sudo" ]] && ! command -v sudo >/dev/null; then
        echo "need root (or sudo) to install: ${missing[*]}" >&2
        exit 1
    fi
    echo "installing: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Installs Python packages with pip unless the check (Python code) already passes.
pip_install_unless() {
    local check=$1
    shift
    python3 -c "$check" 2>/dev/null && return 0
    if ! python3 -m pip --version >/dev/null 2>&1; then
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-pip
    fi
    echo "installing: $* (pip)"
    # Debian's own python3 refuses pip installs into the system (PEP 668) unless told otherwise.
    PIP_BREAK_SYSTEM_PACKAGES=1 $sudo python3 -m pip install --quiet --disable-pip-version-check "$@"
}

if $testing; then
    # The FTP recording-download tests run pyftpdlib as the FTP server.
    pip_install_unless 'import pyftpdlib' pyftpdlib
    # `tamas-agent ami bench --compare-python` (and its test) times panoramisk and cacofonisk. Pinned:
    # the bench scripts call their internals (AMIProtocol, EventHandler) and docs/performance.md
    # gives figures for these versions.
    pip_install_unless 'import cacofonisk, panoramisk' 'cacofonisk==0.7.10' 'panoramisk==1.4'
    # The OpenAPI contract test validates docs/openapi.yaml and runs schemathesis against a live
    # collector, with the command-line flags of schemathesis 4 (3.x had others).
    pip_install_unless 'import openapi_spec_validator; from importlib.metadata import version; assert version("schemathesis").startswith("4.")' \
        'schemathesis>=4.32,<5' openapi-spec-validator
fi
