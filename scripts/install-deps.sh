#!/bin/sh
# Installs tollgate's build, test and demo dependencies on Debian 12.
# Idempotent and non-interactive: packages already present are skipped,
# so a second run costs one dpkg query.
set -eu

PKGS="build-essential cmake pkg-config git
libuv1-dev libprotobuf-c-dev protobuf-c-compiler liblmdb-dev lmdb-utils
libpcre2-dev libcurl4-openssl-dev libzstd-dev zstd libcmocka-dev
libnghttp2-dev libhttp-parser-dev libssl-dev zlib1g-dev libyaml-dev libjansson-dev
libphonenumber-dev g++ libtext-names-perl wamerican python3-stdnum python3-phonenumbers
python3-fake-factory
libcairo2-dev poppler-utils
clang libclang-rt-14-dev curl iproute2 procps prometheus chromium python3"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done

if [ -n "$missing" ]; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    echo "install-deps: installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -qq --no-install-recommends $missing
fi

# Node.js and npm drive the end-to-end clients (the official OpenTelemetry
# JavaScript SDK). Use whatever node/npm the machine has; otherwise Debian's.
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
fi
