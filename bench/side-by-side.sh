#!/bin/sh
# Ingest side by side: tollgate against Fluent Bit (and the OpenTelemetry
# Collector when given), each receiving OTLP/HTTP into nothing, on the same
# payload, in alternating rounds, so that whatever else the machine is doing
# falls on every engine alike. Prints one row per run, then per engine the
# median spans per server CPU-second, wall spans/s and peak RSS, and the
# ratios of tollgate to each peer.
#
# What each engine does with a request:
#   tollgate  the default: classified under the default policy, stored in
#             LMDB with a durable commit (store.sync true), acknowledged after
#             the commit. No forwarding. TG_SYNC=false measures without fsync.
#   fluent-bit  in_opentelemetry (HTTP/1.1, 200 on success) into out_null.
#   otelcol   the otlp receiver (HTTP) into the nop exporter (needs a
#             collector build with both: otelcol-contrib has them).
#
# The load comes from bench/loadgen (the ingest benchmark's generator, one
# pre-encoded 1,000-span request, fresh trace ids per request), pinned to one
# core and the server to the other (taskset), as in run-ingest-bench.sh.
#
# Usage: bench/side-by-side.sh [BUILD_DIR]
# Environment:
#   FLUENT_BIT=PATH      the fluent-bit binary (required; how to build it:
#                        docs/benchmarks.md, "Side by side")
#   OTELCOL=PATH         an OpenTelemetry Collector binary (optional)
#   ROUNDS=3             rounds; each round runs every engine once
#   DURATION=10          seconds of load per run (at most 600)
#   CONNS=8              connections
#   TG_SYNC=true         tollgate's store.sync
#   TG_LOOPS=1           tollgate's receivers.loops (one loop on its one core)
#   SERVER_CPU=0 LOADGEN_CPU=1
#   PORT=24400           the OTLP/HTTP port every engine listens on in turn
set -eu

BUILD=${1:-${TG_BUILD_DIR:-build}}
TG="$BUILD/tollgate"
LG="$BUILD/loadgen"
FLUENT_BIT=${FLUENT_BIT:-}
OTELCOL=${OTELCOL:-}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CONNS=${CONNS:-8}
TG_SYNC=${TG_SYNC:-true}
TG_LOOPS=${TG_LOOPS:-1}
SERVER_CPU=${SERVER_CPU:-0}
LOADGEN_CPU=${LOADGEN_CPU:-1}
PORT=${PORT:-24400}

die() {
    echo "side-by-side: $*" >&2
    exit 2
}
for f in "$TG" "$LG"; do
    [ -x "$f" ] || die "$f not built (cmake --build $BUILD)"
done
[ -n "$FLUENT_BIT" ] || die "set FLUENT_BIT to a fluent-bit binary (see docs/benchmarks.md)"
[ -x "$FLUENT_BIT" ] || die "FLUENT_BIT=$FLUENT_BIT is not an executable"
if [ -n "$OTELCOL" ] && [ ! -x "$OTELCOL" ]; then die "OTELCOL=$OTELCOL is not an executable"; fi
for v in ROUNDS DURATION CONNS; do
    eval "x=\$$v"
    case "$x" in *[!0-9]* | '' | 0) die "$v must be a whole number above 0" ;; esac
done
[ "$DURATION" -le 600 ] || die "DURATION is at most 600"
case "$TG_SYNC" in true | false) ;; *) die "TG_SYNC is true or false" ;; esac

PIN_S=""
PIN_L=""
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
    PIN_S="taskset -c $SERVER_CPU"
    PIN_L="taskset -c $LOADGEN_CPU"
else
    echo "side-by-side: warning: not pinning (needs taskset and 2 cores)" >&2
fi

WORK=$(mktemp -d)
DATA="$BUILD/side-by-side-data"
PID=""
cleanup() {
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
        kill -TERM "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
    fi
    rm -rf "$WORK" "$DATA"
}
trap cleanup EXIT INT TERM

"$LG" --write-payload "$WORK/payload.bin" >"$WORK/payload.txt"
printf 'store:\n  sync: %s\n' "$TG_SYNC" >"$WORK/tollgate.yaml"
cat >"$WORK/otelcol.yaml" <<EOF
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:$PORT
exporters:
  nop:
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [nop]
EOF

ENGINES="tollgate fluent-bit"
if [ -n "$OTELCOL" ]; then ENGINES="$ENGINES otelcol"; fi

port_open() {
    # bash-free probe: curl to the port, any HTTP answer means it listens.
    curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/" 2>/dev/null
    [ $? -ne 7 ] # 7: could not connect
}

start_engine() { # start_engine NAME
    rm -rf "$DATA"
    mkdir -p "$DATA"
    case "$1" in
    tollgate)
        # shellcheck disable=SC2086
        $PIN_S "$TG" collector --data "$DATA" --site bench --config "$WORK/tollgate.yaml" \
            --otlp-http "127.0.0.1:$PORT" --otlp-grpc "127.0.0.1:$((PORT + 1))" \
            --api "127.0.0.1:$((PORT + 2))" --loops "$TG_LOOPS" 2>"$WORK/server.log" &
        ;;
    fluent-bit)
        # shellcheck disable=SC2086
        $PIN_S "$FLUENT_BIT" -q -i opentelemetry -p listen=127.0.0.1 -p "port=$PORT" \
            -p successful_response_code=200 -o null -m '*' >"$WORK/server.log" 2>&1 &
        ;;
    otelcol)
        # shellcheck disable=SC2086
        $PIN_S "$OTELCOL" --config "$WORK/otelcol.yaml" >"$WORK/server.log" 2>&1 &
        ;;
    esac
    PID=$!
    i=0
    until port_open; do
        i=$((i + 1))
        if [ $i -gt 300 ] || ! kill -0 "$PID" 2>/dev/null; then
            echo "side-by-side: $1 did not start listening:" >&2
            tail -n 20 "$WORK/server.log" >&2
            exit 1
        fi
        sleep 0.1
    done
}

stop_engine() {
    kill -TERM "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    PID=""
}

field() { # field NAME < RESULT line
    tr ' ' '\n' | sed -n "s/^$1=//p"
}

CPU_MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ)  $(uname -sr)  ${CPU_MODEL:-unknown CPU} x $(nproc)"
echo "# $("$TG" version 2>/dev/null | head -n 1) (store.sync $TG_SYNC)  vs  $("$FLUENT_BIT" --version 2>/dev/null | head -n 1)${OTELCOL:+  vs  $("$OTELCOL" --version 2>/dev/null | head -n 1)}"
echo "# $(sed 's/^wrote/payload:/' "$WORK/payload.txt")  OTLP/HTTP, $CONNS connections, ${DURATION}s per run, $ROUNDS rounds"
echo
printf '| %-5s | %-10s | %10s | %12s | %8s | %8s | %7s |\n' round engine "spans/s" "spans/CPU-s" "RSS MiB" refused errors
printf '|%s|%s|%s|%s|%s|%s|%s|\n' "-------" "------------" "------------" "--------------" "----------" "----------" "---------"
: >"$WORK/rows"
r=1
while [ "$r" -le "$ROUNDS" ]; do
    for e in $ENGINES; do
        start_engine "$e"
        # shellcheck disable=SC2086
        $PIN_L "$LG" --proto http --addr "127.0.0.1:$PORT" --conns "$CONNS" \
            --duration "$DURATION" --payload "$WORK/payload.bin" --pid "$PID" --quiet \
            >"$WORK/result.txt" || true
        stop_engine
        res=$(grep '^RESULT ' "$WORK/result.txt" || true)
        [ -n "$res" ] || { cat "$WORK/result.txt" >&2; die "loadgen printed no result for $e"; }
        sps=$(echo "$res" | field spans_per_s)
        cpm=$(echo "$res" | field cpu_s_per_mspans)
        rss=$(echo "$res" | field peak_rss_mib)
        per_cpu=$(awk -v c="$cpm" 'BEGIN { if (c > 0) printf "%.0f", 1e6 / c; else print 0 }')
        printf '| %-5s | %-10s | %10s | %12s | %8s | %8s | %7s |\n' "$r" "$e" "$sps" "$per_cpu" \
            "$rss" "$(echo "$res" | field refused)" "$(echo "$res" | field errors)"
        echo "$e $sps $per_cpu $rss" >>"$WORK/rows"
    done
    r=$((r + 1))
done

median() { # median ENGINE COLUMN(2 spans/s, 3 spans/CPU-s, 4 RSS)
    awk -v e="$1" -v c="$2" '$1 == e { print $c }' "$WORK/rows" | sort -n |
        awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo
echo "Medians over $ROUNDS rounds:"
printf '| %-10s | %10s | %12s | %8s |\n' engine "spans/s" "spans/CPU-s" "RSS MiB"
printf '|%s|%s|%s|%s|\n' "------------" "------------" "--------------" "----------"
for e in $ENGINES; do
    printf '| %-10s | %10s | %12s | %8s |\n' "$e" "$(median "$e" 2)" "$(median "$e" 3)" "$(median "$e" 4)"
done
echo
for e in $ENGINES; do
    [ "$e" = tollgate ] && continue
    awk -v e="$e" -v a="$(median tollgate 3)" -v b="$(median "$e" 3)" \
        -v wa="$(median tollgate 2)" -v wb="$(median "$e" 2)" \
        -v ra="$(median tollgate 4)" -v rb="$(median "$e" 4)" 'BEGIN {
        printf "tollgate / %s: %.2fx spans per CPU-second, %.2fx wall spans/s, %.2fx peak RSS\n",
            e, (b > 0 ? a / b : 0), (wb > 0 ? wa / wb : 0), (rb > 0 ? ra / rb : 0) }'
done
