#!/usr/bin/env bash
# Installs the Debian packages Tamas builds and tests with, only those that are missing.
# Usage: deploy/install-deps.sh [--test]   (--test adds what the test suite runs against)
set -euo pipefail

packages=(libsqlite3-dev libssl-dev openssl python3 ca-certificates)
if [[ "${1:-}" == "--test" ]]; then
    packages+=(procps)
fi

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]} == 0)); then
    exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
fi
echo "installing: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
