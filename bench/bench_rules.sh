#!/bin/sh
# Residency-rules benchmark: builds bench_rules (RelWithDebInfo), runs it a
# few times on one core and prints each run with the machine and the date,
# for docs/rules.md. Not a test: it asserts nothing.
#
#   bench/bench_rules.sh [BUILD_DIR] [RUNS] [SECONDS]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$root/build-bench"}
runs=${2:-3}
seconds=${3:-5}

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTG_E2E=OFF >/dev/null
cmake --build "$build" --target bench_rules -j2 >/dev/null

echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores, $(uname -r)"
echo "commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
i=1
while [ "$i" -le "$runs" ]; do
    echo "--- run $i"
    # one core: the figures are per core
    taskset -c 0 "$build/bench_rules" --seconds "$seconds" 2>/dev/null ||
        "$build/bench_rules" --seconds "$seconds"
    i=$((i + 1))
done
