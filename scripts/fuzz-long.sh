#!/bin/sh
# Long fuzzing: runs every libFuzzer target in BUILD_DIR for SECONDS each
# (default 3600: one CPU-hour per target before a release) and grows the
# corpora kept in the repository. Each target starts from its seeds in
# tests/fuzz/corpus/NAME, writes what it finds to a scratch directory, and
# at the end the new inputs that add coverage are merged back into
# tests/fuzz/corpus/NAME (libFuzzer -merge=1), so the next run, and the
# replay in the unit suite, start where this one stopped. Commit the grown
# corpora. A crash fails the run and leaves the input in
# tests/fuzz/artifacts/. TARGETS (a space-separated list of names) limits
# the run to some targets; JOBS runs that many targets at once.
set -eu
build=${1:-build-fuzz}
seconds=${2:-3600}
jobs=${JOBS:-1}
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$root/tests/fuzz/artifacts"
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

run_one() {
    bin=$1
    name=$(basename "$bin")
    corpus="$root/tests/fuzz/corpus/$name"
    work="$log/$name.work"
    mkdir -p "$corpus" "$work"
    before=$(find "$corpus" -type f | wc -l)
    start=$(date +%s)
    if ! ASAN_OPTIONS=detect_leaks=1 "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 \
        -max_len=65536 -artifact_prefix="$root/tests/fuzz/artifacts/$name-" \
        -print_final_stats=1 "$work" "$corpus" >"$log/$name.log" 2>&1; then
        echo "fuzz-long: $name FAILED"; tail -50 "$log/$name.log"
        return 1
    fi
    # Keep only inputs that add coverage to what the repository holds.
    "$bin" -merge=1 "$corpus" "$work" >"$log/$name.merge" 2>&1 || {
        echo "fuzz-long: $name merge failed"; tail -20 "$log/$name.merge"; return 1; }
    after=$(find "$corpus" -type f | wc -l)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log/$name.log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log/$name.log" | tail -1)
    echo "fuzz-long: $name $(( $(date +%s) - start ))s execs=${execs:-?} ${cov:-cov: ?} corpus $before -> $after"
}

status=0
ran=0
pids=""
for bin in "$build"/fuzz_*; do
    [ -f "$bin" ] && [ -x "$bin" ] || continue
    name=$(basename "$bin")
    if [ -n "${TARGETS:-}" ]; then
        case " $TARGETS " in *" $name "*) ;; *) continue ;; esac
    fi
    ran=$((ran + 1))
    if [ "$jobs" -le 1 ]; then
        run_one "$bin" || status=1
    else
        run_one "$bin" &
        pids="$pids $!"
        if [ $(echo $pids | wc -w) -ge "$jobs" ]; then
            for p in $pids; do wait "$p" || status=1; done
            pids=""
        fi
    fi
done
for p in $pids; do wait "$p" || status=1; done
if [ "$ran" -eq 0 ]; then
    echo "fuzz-long: no fuzz_* target in $build (build it with make fuzz-build)"
    exit 1
fi
echo "fuzz-long: $ran target(s), ${seconds}s each"
exit $status
