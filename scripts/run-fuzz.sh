#!/bin/sh
# Runs every libFuzzer target in BUILD_DIR for SECONDS each, starting from
# its seed corpus. A crash fails the run and leaves the input in
# tests/fuzz/artifacts/. Finding no fuzz target at all fails too (a build
# that produced none has not been fuzzed).
set -eu
build=${1:-build-fuzz}
seconds=${2:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$root/tests/fuzz/artifacts"
status=0
ran=0
for bin in "$build"/fuzz_*; do
    [ -f "$bin" ] && [ -x "$bin" ] || continue
    ran=$((ran + 1))
    name=$(basename "$bin")
    seeds="$root/tests/fuzz/corpus/$name"
    work=$(mktemp -d)
    [ -d "$seeds" ] && cp -r "$seeds"/. "$work"/ 2>/dev/null || true
    echo "fuzz: $name for ${seconds}s"
    if ! ASAN_OPTIONS=detect_leaks=1 "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 \
        -max_len=65536 -artifact_prefix="$root/tests/fuzz/artifacts/$name-" \
        -print_final_stats=1 "$work" >"$work.log" 2>&1; then
        echo "fuzz: $name FAILED"; tail -50 "$work.log"; status=1
    else
        grep -E "stat::number_of_executed_units|Done" "$work.log" | tail -2 || true
    fi
    rm -rf "$work" "$work.log"
done
if [ "$ran" -eq 0 ]; then
    echo "fuzz: no fuzz_* target in $build (build it with make fuzz-build)"
    exit 1
fi
echo "fuzz: $ran target(s)"
exit $status
