#!/bin/sh
# The overload soak: a fresh collector (BUILD_DIR/tollgate, defaults but a
# 1 MiB pending budget) driven over OTLP/HTTP on loopback at twice its
# measured capacity for DURATION seconds (default 600) with at most 200
# requests in flight, then at half its capacity. Prints the capacity,
# every 10 s the offered/sent/acknowledged/refused counts and the
# collector's RSS, then one RESULT line: 429s and Retry-After, acknowledged
# versus read back (lost must be 0), RSS start/max/end and the recovery
# time. Exit 0 when nothing acknowledged was lost and every refusal
# carried Retry-After. bench/soak.mjs has the details.
#
# Usage: bench/soak.sh [DURATION_SEC] [BUILD_DIR]
set -eu
duration=${1:-600}
build=${2:-${TG_BUILD_DIR:-build}}
root=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -x "$build/tollgate" ]; then
    echo "soak: $build/tollgate not built (cmake --build $build)" >&2
    exit 2
fi
TOLLGATE_BIN=$(cd "$build" && pwd)/tollgate
export TOLLGATE_BIN
exec node "$root/bench/soak.mjs" "$duration"
