#!/bin/sh
# The OTLP ingest benchmark: for each protocol (HTTP, then gRPC) and each
# connection count (1, 4, 8), start a fresh collector pinned to one core,
# drive it from the other core with bench/loadgen for DURATION seconds,
# and print one table row per run.
#
# The collector runs with its defaults: store.sync true, so every
# acknowledgement follows a durable (fsync'd) LMDB commit. Its data
# directory is on the build directory's file system (not /tmp, which may
# be tmpfs, where fsync costs nothing).
#
# Usage: bench/run-ingest-bench.sh [BUILD_DIR]
# Environment:
#   DURATION=10          seconds of load per run (at most 600)
#   CONNS="1 4 8"        connection counts
#   PROTOS="http grpc"   protocols
#   STREAMS=1            concurrent gRPC streams per connection
#   COLLECTOR_CPU=0      core(s) for the collector (a taskset list: 0 or 0,1);
#                        LOADGEN_CPU=1 for loadgen
#   LOOPS=1              the collector's receivers.loops (one per collector core)
#   PORT_BASE=24317      gRPC on PORT_BASE, HTTP +1, site API +2
#   BENCH_DATA=DIR       where the collector's data goes (default BUILD_DIR/bench-data)
#   COLLECTOR_CONFIG=F   extra --config file for the collector
set -eu

BUILD=${1:-${TG_BUILD_DIR:-build}}
TG="$BUILD/tollgate"
LG="$BUILD/loadgen"
DURATION=${DURATION:-10}
CONNS=${CONNS:-"1 4 8"}
PROTOS=${PROTOS:-"http grpc"}
STREAMS=${STREAMS:-1}
COLLECTOR_CPU=${COLLECTOR_CPU:-0}
LOADGEN_CPU=${LOADGEN_CPU:-1}
LOOPS=${LOOPS:-1}
PORT_BASE=${PORT_BASE:-24317}
BENCH_DATA=${BENCH_DATA:-"$BUILD/bench-data"}

for f in "$TG" "$LG"; do
    if [ ! -x "$f" ]; then
        echo "run-ingest-bench: $f not built (cmake --build $BUILD)" >&2
        exit 2
    fi
done
case "$DURATION" in *[!0-9]* | '') echo "DURATION must be whole seconds" >&2; exit 2 ;; esac
if [ "$DURATION" -gt 600 ]; then echo "DURATION is at most 600" >&2; exit 2; fi

GRPC_ADDR="127.0.0.1:$PORT_BASE"
HTTP_ADDR="127.0.0.1:$((PORT_BASE + 1))"
API_ADDR="127.0.0.1:$((PORT_BASE + 2))"

PIN_C=""
PIN_L=""
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
    PIN_C="taskset -c $COLLECTOR_CPU"
    PIN_L="taskset -c $LOADGEN_CPU"
else
    echo "run-ingest-bench: warning: not pinning (needs taskset and 2 cores)" >&2
fi

WORK=$(mktemp -d)
PID=""
cleanup() {
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
        kill -TERM "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
    fi
    rm -rf "$WORK" "$BENCH_DATA"
}
trap cleanup EXIT INT TERM

"$LG" --write-payload "$WORK/payload.bin" >"$WORK/payload.txt"

# One line of machine description for the record.
CPU_MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
MEM_GIB=$(awk '/^MemTotal:/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)
mkdir -p "$BENCH_DATA"
FS=$(df -T "$BENCH_DATA" | awk 'NR == 2 { print $2 }')
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ)  $(uname -sr)  ${CPU_MODEL:-unknown CPU} x $(nproc), ${MEM_GIB} GiB"
SYNC="store.sync=true (durable commit)"
if [ -n "${COLLECTOR_CONFIG:-}" ]; then SYNC="config $COLLECTOR_CONFIG"; fi
echo "# $("$TG" version 2>/dev/null | head -n 1)  data on $FS ($BENCH_DATA)  $SYNC"
echo "# $(sed 's/^wrote/payload:/' "$WORK/payload.txt")  duration ${DURATION}s per run"
echo "# collector on CPU $COLLECTOR_CPU with $LOOPS ingest loop(s), loadgen on CPU $LOADGEN_CPU"
echo
printf '| %-5s | %5s | %10s | %7s | %8s | %8s | %13s | %12s | %7s | %6s | %8s | %11s |\n' \
    proto conns "spans/s" "req/s" "p50 ms" "p99 ms" "CPU-s/M spans" "peak RSS MiB" refused errors stored "loadgen CPU"
printf '|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n' \
    "-------" "-------" "------------" "---------" "----------" "----------" \
    "---------------" "--------------" "---------" "--------" "----------" "-------------"

field() { # field NAME < RESULT line
    tr ' ' '\n' | sed -n "s/^$1=//p"
}

start_collector() {
    rm -rf "$BENCH_DATA"
    mkdir -p "$BENCH_DATA"
    set -- collector --data "$BENCH_DATA" --site bench --otlp-grpc "$GRPC_ADDR" \
        --otlp-http "$HTTP_ADDR" --api "$API_ADDR" --loops "$LOOPS"
    if [ -n "${COLLECTOR_CONFIG:-}" ]; then set -- "$@" --config "$COLLECTOR_CONFIG"; fi
    # shellcheck disable=SC2086
    $PIN_C "$TG" "$@" 2>"$WORK/collector.log" &
    PID=$!
    i=0
    while ! curl -fsS -o /dev/null "http://$API_ADDR/readyz" 2>/dev/null; do
        i=$((i + 1))
        if [ $i -gt 200 ] || ! kill -0 "$PID" 2>/dev/null; then
            echo "run-ingest-bench: collector did not become ready:" >&2
            tail -n 20 "$WORK/collector.log" >&2
            exit 1
        fi
        sleep 0.1
    done
}

stop_collector() {
    kill -TERM "$PID"
    if ! wait "$PID"; then
        echo "run-ingest-bench: collector exited non-zero:" >&2
        tail -n 20 "$WORK/collector.log" >&2
    fi
    PID=""
}

for proto in $PROTOS; do
    for n in $CONNS; do
        start_collector
        addr=$HTTP_ADDR
        if [ "$proto" = grpc ]; then addr=$GRPC_ADDR; fi
        # shellcheck disable=SC2086
        $PIN_L "$LG" --proto "$proto" --addr "$addr" --conns "$n" --streams "$STREAMS" \
            --duration "$DURATION" --payload "$WORK/payload.bin" --pid "$PID" --quiet \
            >"$WORK/result.txt" || true
        r=$(grep '^RESULT ' "$WORK/result.txt" || true)
        if [ -z "$r" ]; then
            echo "run-ingest-bench: loadgen printed no result" >&2
            cat "$WORK/result.txt" >&2
            stop_collector
            exit 1
        fi
        # What the collector says it accepted, to check against loadgen.
        transport=http
        if [ "$proto" = grpc ]; then transport=grpc; fi
        stored=$(curl -fsS "http://$API_ADDR/metrics" 2>/dev/null |
            awk -v t="$transport" '/^tollgate_items_accepted_total\{/ && /signal="traces"/ && $0 ~ "transport=\"" t "\"" { s += $NF } END { printf "%.0f", s }')
        stop_collector
        printf '| %-5s | %5s | %10s | %7s | %8s | %8s | %13s | %12s | %7s | %6s | %8s | %10s%% |\n' \
            "$proto" "$n" "$(echo "$r" | field spans_per_s)" "$(echo "$r" | field req_per_s)" \
            "$(echo "$r" | field p50_ms)" "$(echo "$r" | field p99_ms)" \
            "$(echo "$r" | field cpu_s_per_mspans)" "$(echo "$r" | field peak_rss_mib)" \
            "$(echo "$r" | field refused)" "$(echo "$r" | field errors)" "${stored:-?}" \
            "$(echo "$r" | field loadgen_cpu_pct)"
    done
done
echo
echo "# stored: spans the collector's /metrics counted as accepted (tollgate_items_accepted_total)"
echo "# loadgen CPU: of its one core; near 100% means loadgen, not the collector, set the pace"
