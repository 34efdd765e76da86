#!/bin/sh
# Federated query benchmark: three sites with SPANS_PER_SITE spans each
# (default one million, written straight into each site's store by
# bench_query_fill), a centre, and a client measuring
#   - trace by id at the centre (fan-out to three sites, stitched): p50, p99
#   - TraceQL search scan rate at one site (spans scanned per second, the
#     site's own figures: one worker thread, so per core)
# Prints the figures; not a test.
#
#   bench/bench-query.sh [BUILD] [SPANS_PER_SITE] [LOOKUPS]
set -eu
BUILD=${1:-build}
SPANS=${2:-1000000}
LOOKUPS=${3:-300}
BIN=$(cd "$BUILD" && pwd)/tollgate
FILL=$(cd "$BUILD" && pwd)/bench_query_fill
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=$(mktemp -d /tmp/tg-bench-query-XXXXXX)
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$DIR"
}
trap cleanup EXIT INT TERM

REQ=$((SPANS / 1000))
for i in 0 1 2; do
    "$FILL" "$DIR/s$i" "$i" "$REQ" "$DIR/ids$i.txt"
    od -An -tx1 -N16 /dev/urandom | tr -d ' \n' > "$DIR/s$i.token"
    cat > "$DIR/s$i.yaml" <<YAML
query:
  clients:
    - {name: central, token_file: "$DIR/s$i.token", max_view: raw}
    - {name: bench, token_file: "$DIR/bench.token", max_view: raw}
YAML
done
od -An -tx1 -N16 /dev/urandom | tr -d ' \n' > "$DIR/bench.token"
od -An -tx1 -N16 /dev/urandom | tr -d ' \n' > "$DIR/user.token"
PORT0=$((20000 + $$ % 10000))
echo "sites:" > "$DIR/sites.yaml"
for i in 0 1 2; do
    "$BIN" collector --site "s$i" --data "$DIR/s$i" --config "$DIR/s$i.yaml" \
        --otlp-grpc 127.0.0.1:0 --otlp-http 127.0.0.1:0 --api "127.0.0.1:$((PORT0 + i))" \
        --rules "$ROOT/rules/default.yaml" > "$DIR/s$i.log" 2>&1 &
    PIDS="$PIDS $!"
    echo "  - {name: s$i, token_file: s$i.token, api: \"http://127.0.0.1:$((PORT0 + i))\"}" >> "$DIR/sites.yaml"
done
echo "users: [{name: bench, token_file: user.token, role: compliance}]" > "$DIR/users.yaml"
"$BIN" central --data "$DIR/central" --listen "127.0.0.1:$((PORT0 + 10))" \
    --sites "$DIR/sites.yaml" --users "$DIR/users.yaml" > "$DIR/central.log" 2>&1 &
PIDS="$PIDS $!"
for p in 0 1 2 10; do
    i=0
    until curl -sf "http://127.0.0.1:$((PORT0 + p))/readyz" >/dev/null 2>&1; do
        i=$((i + 1)); [ "$i" -lt 200 ] || { echo "not ready: port $((PORT0 + p))" >&2; cat "$DIR"/*.log >&2; exit 1; }
        sleep 0.1
    done
done
node "$ROOT/bench/bench_query_client.mjs" --centre "http://127.0.0.1:$((PORT0 + 10))" \
    --site "http://127.0.0.1:$PORT0" --token "$(cat "$DIR/user.token")" \
    --site-token "$(cat "$DIR/bench.token")" --ids "$DIR/ids0.txt" --lookups "$LOOKUPS" \
    --spans "$SPANS"
