#!/bin/sh
# What forwarding costs a site (issue 13, part 1): the same saturated
# OTLP/HTTP load (bench/loadgen, the 1,000-span request, 8 connections)
# against a collector alone, then against a collector that also forwards to
# a centre, in alternating rounds. For each run it prints the collector's
# CPU-seconds per million acknowledged spans, counted from the start of the
# load until the forwarder has summarised everything the load stored (so
# work the forwarder defers is charged to the run), how long the forwarder
# took to catch up after the load stopped, the largest source lag sampled
# during the load (tollgate_forward_source_lag_records), and peak RSS; at the
# end, the forwarder worker's largest decode arena and summariser
# (tollgate_forward_memory_peak_bytes), the part of its RSS that is its own.
#
# The collector runs on one core (taskset), loadgen and the centre on the
# other; default policy, durable commit on both daemons.
#
# Usage: bench/forward-cost.sh [BUILD_DIR]
# Environment: ROUNDS=2 DURATION=10 CONNS=8 SERVER_CPU=0 LOADGEN_CPU=1
#              PORT=24500 (OTLP/HTTP; gRPC +1, site API +2, centre +3)
set -eu

BUILD=${1:-${TG_BUILD_DIR:-build}}
TG="$BUILD/tollgate"
LG="$BUILD/loadgen"
ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-10}
CONNS=${CONNS:-8}
SERVER_CPU=${SERVER_CPU:-0}
LOADGEN_CPU=${LOADGEN_CPU:-1}
PORT=${PORT:-24500}

die() {
    echo "forward-cost: $*" >&2
    exit 2
}
for f in "$TG" "$LG"; do [ -x "$f" ] || die "$f not built (cmake --build $BUILD)"; done
for v in ROUNDS DURATION CONNS; do
    eval "x=\$$v"
    case "$x" in *[!0-9]* | '' | 0) die "$v must be a whole number above 0" ;; esac
done
[ "$DURATION" -le 600 ] || die "DURATION is at most 600"

PIN_S=""
PIN_L=""
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
    PIN_S="taskset -c $SERVER_CPU"
    PIN_L="taskset -c $LOADGEN_CPU"
fi

HTTP="127.0.0.1:$PORT"
API="127.0.0.1:$((PORT + 2))"
CENTRE="127.0.0.1:$((PORT + 3))"
WORK=$(mktemp -d)
DATA="$BUILD/forward-cost-data"
PIDS=""
cleanup() {
    for p in $PIDS; do kill -TERM "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK" "$DATA"
}
trap cleanup EXIT INT TERM

"$LG" --write-payload "$WORK/payload.bin" >"$WORK/payload.txt"
od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >"$WORK/site.token"
chmod 600 "$WORK/site.token"
printf 'sites:\n  - name: bench\n    token_file: %s\n' "$WORK/site.token" >"$WORK/sites.yaml"

wait_url() { # wait_url URL PID
    i=0
    until curl -fsS -o /dev/null "$1" 2>/dev/null; do
        i=$((i + 1))
        if [ $i -gt 300 ] || ! kill -0 "$2" 2>/dev/null; then
            tail -n 20 "$WORK"/*.log >&2
            die "$1 did not come up"
        fi
        sleep 0.1
    done
}

cpu_ticks() { # utime+stime of PID, in clock ticks
    awk '{ print $14 + $15 }' "/proc/$1/stat"
}

metric() { # metric NAME: summed value from the site's /metrics
    curl -fsS "http://$API/metrics" 2>/dev/null |
        awk -v n="$1" '$1 == n || index($1, n "{") == 1 { s += $NF } END { printf "%.0f", s }'
}

run() { # run alone|forward
    rm -rf "$DATA"
    mkdir -p "$DATA/site" "$DATA/centre"
    set -- "$1"
    mode=$1
    if [ "$mode" = forward ]; then
        # shellcheck disable=SC2086
        $PIN_L "$TG" central --data "$DATA/centre" --listen "$CENTRE" \
            --sites "$WORK/sites.yaml" 2>"$WORK/centre.log" &
        CPID=$!
        PIDS="$PIDS $CPID"
        wait_url "http://$CENTRE/readyz" "$CPID"
        # shellcheck disable=SC2086
        $PIN_S "$TG" collector --data "$DATA/site" --site bench --otlp-http "$HTTP" \
            --otlp-grpc "127.0.0.1:$((PORT + 1))" --api "$API" --central "http://$CENTRE" \
            --central-token-file "$WORK/site.token" 2>"$WORK/site.log" &
    else
        # shellcheck disable=SC2086
        $PIN_S "$TG" collector --data "$DATA/site" --site bench --otlp-http "$HTTP" \
            --otlp-grpc "127.0.0.1:$((PORT + 1))" --api "$API" 2>"$WORK/site.log" &
    fi
    SPID=$!
    PIDS="$PIDS $SPID"
    wait_url "http://$API/readyz" "$SPID"
    hz=$(getconf CLK_TCK)
    c0=$(cpu_ticks "$SPID")
    t0=$(date +%s.%N)
    # shellcheck disable=SC2086
    $PIN_L "$LG" --proto http --addr "$HTTP" --conns "$CONNS" --duration "$DURATION" \
        --payload "$WORK/payload.bin" --quiet >"$WORK/result.txt" &
    LPID=$!
    maxlag=0
    while kill -0 "$LPID" 2>/dev/null; do
        if [ "$mode" = forward ]; then
            lag=$(metric tollgate_forward_source_lag_records)
            [ "${lag:-0}" -gt "$maxlag" ] && maxlag=$lag
        fi
        sleep 0.5
    done
    wait "$LPID" || true
    t1=$(date +%s.%N)
    catchup=0
    if [ "$mode" = forward ]; then
        i=0
        while [ "$(metric tollgate_forward_source_lag_records)" != 0 ]; do
            i=$((i + 1))
            [ $i -le 1200 ] || die "the forwarder did not catch up within 120 s"
            sleep 0.1
        done
        catchup=$(awk -v a="$t1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    fi
    c1=$(cpu_ticks "$SPID")
    rss=$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$SPID/status")
    if [ "$mode" = forward ]; then
        curl -fsS "http://$API/metrics" 2>/dev/null |
            awk '$1 ~ /^tollgate_forward_memory_peak_bytes\{/ { printf "%s %.1f\n", $1, $2 / 1048576 }' \
                >>"$WORK/mem"
    fi
    spans=$(tr ' ' '\n' <"$WORK/result.txt" | sed -n 's/^ok_reqs=//p')
    spans=$((spans * 1000))
    for p in $PIDS; do kill -TERM "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    PIDS=""
    [ "$spans" -gt 0 ] || die "$mode: no span was acknowledged"
    cpm=$(awk -v c=$((c1 - c0)) -v hz="$hz" -v n="$spans" 'BEGIN { printf "%.2f", c / hz / n * 1e6 }')
    wall=$(awk -v a="$t0" -v b="$t1" -v n="$spans" 'BEGIN { printf "%.0f", n / (b - a) }')
    printf '| %-5s | %-8s | %10s | %13s | %10s | %9s | %8s |\n' "$r" "$mode" "$wall" "$cpm" \
        "$catchup" "$maxlag" "$rss"
    echo "$mode $cpm $catchup $rss" >>"$WORK/rows"
}

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ)  $(uname -sr)  $(nproc) CPUs; $("$TG" version | head -n 1)"
echo "# $(sed 's/^wrote/payload:/' "$WORK/payload.txt")  OTLP/HTTP, $CONNS connections, ${DURATION}s of load per run"
echo
printf '| %-5s | %-8s | %10s | %13s | %10s | %9s | %8s |\n' round mode "spans/s" "CPU-s/M spans" "catch-up s" "max lag" "RSS MiB"
printf '|%s|%s|%s|%s|%s|%s|%s|\n' "-------" "----------" "------------" "---------------" "------------" "-----------" "----------"
: >"$WORK/rows"
: >"$WORK/mem"
r=1
while [ "$r" -le "$ROUNDS" ]; do
    run alone
    run forward
    r=$((r + 1))
done
med() { # med MODE COLUMN
    awk -v m="$1" -v c="$2" '$1 == m { print $c }' "$WORK/rows" | sort -n |
        awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
echo
if [ -s "$WORK/mem" ]; then
    awk '{ n[$1]++; if ($2 > m[$1]) m[$1] = $2 } END {
        printf "forwarder worker memory, largest of the runs: decode %.1f MiB, summary %.1f MiB\n",
            m["tollgate_forward_memory_peak_bytes{part=\"decode\"}"],
            m["tollgate_forward_memory_peak_bytes{part=\"summary\"}"] }' "$WORK/mem"
fi
awk -v a="$(med alone 2)" -v f="$(med forward 2)" -v c="$(med forward 3)" -v r="$(med forward 4)" 'BEGIN {
    printf "median CPU-s per million spans: alone %.2f, forwarding %.2f: %.2fx (goal: at most 1.5x); catch-up %.1f s; forwarding peak RSS %.1f MiB (goal: at most 64)\n",
        a, f, (a > 0 ? f / a : 0), c, r }'
