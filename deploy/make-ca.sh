#!/usr/bin/env bash
# Makes a private CA and certificates for mutual TLS between agents and the collector.
#
#   deploy/make-ca.sh DIR ca                      -> DIR/ca.crt, DIR/ca.key (keep ca.key offline)
#   deploy/make-ca.sh DIR agent NAME              -> DIR/NAME.crt, DIR/NAME.key signed by DIR/ca.*
#
# Start the collector with --client-ca DIR/ca.crt; give each agent its NAME.crt/NAME.key as
# collector.clientCertificate / collector.clientKey. The agent's secret is still required.
set -euo pipefail
umask 077
dir=${1:?usage: make-ca.sh DIR ca | DIR agent NAME}
what=${2:?usage: make-ca.sh DIR ca | DIR agent NAME}
mkdir -p "$dir"
case "$what" in
    ca)
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
            -subj "/CN=Tamas agents CA" -keyout "$dir/ca.key" -out "$dir/ca.crt" \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
        echo "CA written to $dir/ca.crt (key $dir/ca.key, mode 0600)"
        ;;
    agent)
        name=${3:?usage: make-ca.sh DIR agent NAME}
        [[ "$name" =~ ^[A-Za-z0-9._-]+$ ]] || { echo "agent name must be letters, digits, '.', '_' or '-'" >&2; exit 2; }
        [[ -f "$dir/ca.crt" && -f "$dir/ca.key" ]] || { echo "no CA in $dir: run '$0 $dir ca' first" >&2; exit 2; }
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$name" \
            -keyout "$dir/$name.key" -out "$dir/$name.csr" 2>/dev/null
        extensions=$(mktemp)
        printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' > "$extensions"
        openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
            -days 825 -out "$dir/$name.crt" -extfile "$extensions" 2>/dev/null
        rm -f "$dir/$name.csr" "$extensions"
        echo "agent certificate written to $dir/$name.crt (key $dir/$name.key, mode 0600)"
        ;;
    *)
        echo "usage: make-ca.sh DIR ca | DIR agent NAME" >&2
        exit 2
        ;;
esac
