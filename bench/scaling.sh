#!/bin/sh
# Ingest scaling across cores: for each loop count (1, 2, 4, 8, 16 by
# default, capped at the machine's cores), start a fresh collector with
# receivers.loops = L pinned to cores 0..L-1 (taskset), drive it with
# bench/loadgen on the remaining cores (or on all of them when none
# remain), and print one row per run: spans/s, the collector's CPU-seconds
# per million spans, speed-up and efficiency against one loop.
#
# Self-contained and short: it builds nothing (give it a build directory
# holding tollgate and loadgen); with the defaults (5 loop counts x 2
# protocols x 15 s) it takes about 3.5 minutes.
#
# The collector runs with its defaults otherwise: default policy, durable
# commit (store.sync true), one LMDB writer thread for every loop. The
# data directory is on the build directory's file system (not /tmp, which
# may be tmpfs, where fsync costs nothing).
#
# Usage: bench/scaling.sh [BUILD_DIR]
# Environment:
#   LOOPS_LIST="1 2 4 8 16"   loop counts (each above the core count is skipped)
#   PROTOS="http grpc"        protocols
#   DURATION=15               seconds of load per run (at most 600)
#   CONNS_PER_LOOP=4          connections per loop (at least 8 in all, at most 256)
#   SYNC=true                 store.sync
#   PORT_BASE=24500           gRPC on PORT_BASE, HTTP +1, site API +2
#   BENCH_DATA=DIR            the collector's data (default BUILD_DIR/scaling-data)
set -eu

BUILD=${1:-${TG_BUILD_DIR:-build}}
TG="$BUILD/tollgate"
LG="$BUILD/loadgen"
LOOPS_LIST=${LOOPS_LIST:-"1 2 4 8 16"}
PROTOS=${PROTOS:-"http grpc"}
DURATION=${DURATION:-15}
CONNS_PER_LOOP=${CONNS_PER_LOOP:-4}
SYNC=${SYNC:-true}
PORT_BASE=${PORT_BASE:-24500}
BENCH_DATA=${BENCH_DATA:-"$BUILD/scaling-data"}

die() {
    echo "scaling: $*" >&2
    exit 2
}
for f in "$TG" "$LG"; do
    [ -x "$f" ] || die "$f not built (cmake --build $BUILD)"
done
command -v taskset >/dev/null 2>&1 || die "needs taskset (util-linux)"
for v in DURATION CONNS_PER_LOOP; do
    eval "x=\$$v"
    case "$x" in *[!0-9]* | '' | 0) die "$v must be a whole number above 0" ;; esac
done
[ "$DURATION" -le 600 ] || die "DURATION is at most 600"
case "$SYNC" in true | false) ;; *) die "SYNC is true or false" ;; esac

NCPU=$(nproc)
GRPC_ADDR="127.0.0.1:$PORT_BASE"
HTTP_ADDR="127.0.0.1:$((PORT_BASE + 1))"
API_ADDR="127.0.0.1:$((PORT_BASE + 2))"

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
printf 'store:\n  sync: %s\n' "$SYNC" >"$WORK/tollgate.yaml"

CPU_MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
MEM_GIB=$(awk '/^MemTotal:/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)
mkdir -p "$BENCH_DATA"
FS=$(df -T "$BENCH_DATA" | awk 'NR == 2 { print $2 }')
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ)  $(uname -sr)  ${CPU_MODEL:-unknown CPU} x $NCPU, ${MEM_GIB} GiB"
echo "# $("$TG" version 2>/dev/null | head -n 1)  data on $FS  store.sync=$SYNC"
echo "# $(sed 's/^wrote/payload:/' "$WORK/payload.txt")  duration ${DURATION}s per run"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf '| %-5s | %5s | %5s | %10s | %13s | %8s | %10s | %12s | %8s | %11s | %-7s |\n' \
    proto loops conns "spans/s" "CPU-s/M spans" speed-up efficiency "peak RSS MiB" errors "loadgen CPU" "loadavg"
printf '|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n' "-------" "-------" "-------" "------------" \
    "---------------" "----------" "------------" "--------------" "----------" "-------------" "---------"

field() { # field NAME < RESULT line
    tr ' ' '\n' | sed -n "s/^$1=//p"
}

start_collector() { # start_collector LOOPS
    rm -rf "$BENCH_DATA"
    mkdir -p "$BENCH_DATA"
    taskset -c "0-$(($1 - 1))" "$TG" collector --data "$BENCH_DATA" --site bench \
        --config "$WORK/tollgate.yaml" --otlp-grpc "$GRPC_ADDR" --otlp-http "$HTTP_ADDR" \
        --api "$API_ADDR" --loops "$1" 2>"$WORK/collector.log" &
    PID=$!
    i=0
    while ! curl -fsS -o /dev/null "http://$API_ADDR/readyz" 2>/dev/null; do
        i=$((i + 1))
        if [ $i -gt 200 ] || ! kill -0 "$PID" 2>/dev/null; then
            echo "scaling: collector did not become ready:" >&2
            tail -n 20 "$WORK/collector.log" >&2
            exit 1
        fi
        sleep 0.1
    done
}

stop_collector() {
    kill -TERM "$PID"
    if ! wait "$PID"; then
        echo "scaling: collector exited non-zero:" >&2
        tail -n 20 "$WORK/collector.log" >&2
    fi
    PID=""
}

for proto in $PROTOS; do
    base=""
    for L in $LOOPS_LIST; do
        case "$L" in *[!0-9]* | '' | 0) die "LOOPS_LIST holds whole numbers above 0" ;; esac
        if [ "$L" -gt "$NCPU" ]; then
            echo "# $L loops skipped: $NCPU cores" >&2
            continue
        fi
        conns=$((L * CONNS_PER_LOOP))
        [ "$conns" -ge 8 ] || conns=8
        [ "$conns" -le 256 ] || conns=256
        # loadgen on the cores the collector leaves free, else beside it.
        if [ "$L" -lt "$NCPU" ]; then pin_l="taskset -c $L-$((NCPU - 1))"; else pin_l=""; fi
        start_collector "$L"
        addr=$HTTP_ADDR
        if [ "$proto" = grpc ]; then addr=$GRPC_ADDR; fi
        # shellcheck disable=SC2086
        $pin_l "$LG" --proto "$proto" --addr "$addr" --conns "$conns" \
            --duration "$DURATION" --payload "$WORK/payload.bin" --pid "$PID" --quiet \
            >"$WORK/result.txt" || true
        load=$(cut -d' ' -f1 /proc/loadavg)
        r=$(grep '^RESULT ' "$WORK/result.txt" || true)
        stop_collector
        if [ -z "$r" ]; then
            echo "scaling: loadgen printed no result" >&2
            cat "$WORK/result.txt" >&2
            exit 1
        fi
        sps=$(echo "$r" | field spans_per_s)
        if [ -z "$base" ]; then base=$sps; fi
        printf '| %-5s | %5s | %5s | %10s | %13s | %8s | %10s | %12s | %8s | %10s%% | %-7s |\n' \
            "$proto" "$L" "$conns" "$sps" "$(echo "$r" | field cpu_s_per_mspans)" \
            "$(awk -v a="$sps" -v b="$base" 'BEGIN { printf "%.2fx", a / b }')" \
            "$(awk -v a="$sps" -v b="$base" -v l="$L" 'BEGIN { printf "%.2f", a / b / l }')" \
            "$(echo "$r" | field peak_rss_mib)" \
            "$(($(echo "$r" | field refused) + $(echo "$r" | field errors)))" \
            "$(echo "$r" | field loadgen_cpu_pct)" "$load"
    done
done
echo
echo "# speed-up: spans/s against the first loop count of the protocol; efficiency: speed-up / loops"
echo "# errors: requests refused or failed (loadgen); loadgen CPU: of one core (it runs a thread per connection)"
echo "# with as many loops as cores, loadgen shares the collector's cores: that row understates the collector"
