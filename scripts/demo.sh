#!/bin/sh
# The main demo (`make run`): on this one machine, two sites and the
# central view, each its own process with its own data directory, and a
# traffic generator sending AI-pipeline telemetry through the OpenTelemetry
# SDK, regulated values included, with requests crossing the two sites.
#
#   de-onprem  on-prem training site in DE: OTLP on the standard ports
#              4317/4318, API 127.0.0.1:9470, amortised cost model (EUR)
#   us-cloud   cloud inference site in US: OTLP 14317/14318, API :9471,
#              metered price list (USD)
#   central    127.0.0.1:9480
#
# usage: scripts/demo.sh [BUILD_DIR] [DATA_DIR]      (Ctrl-C stops everything)
set -eu

BUILD=${1:-build}
DATA=${2:-./demo-data}
BIN="$BUILD/tollgate"
ROOT=$(cd "$(dirname "$0")/.." && pwd)

if [ ! -x "$BIN" ]; then
    echo "demo: $BIN not found; run 'make build' first" >&2
    exit 2
fi
mkdir -p "$DATA/central" "$DATA/de-onprem" "$DATA/us-cloud"
DATA=$(cd "$DATA" && pwd)
BIN=$(cd "$(dirname "$BIN")" && pwd)/tollgate

# One token per site, kept across runs.
for s in de-onprem us-cloud; do
    if [ ! -s "$DATA/$s.token" ]; then
        od -An -tx1 -N16 /dev/urandom | tr -d ' \n' > "$DATA/$s.token"
        chmod 600 "$DATA/$s.token"
    fi
done
# Who may query: the centre answers its users under their role's view;
# each site answers the centre (with the site's own token) up to raw.
for u in alice carol; do
    if [ ! -s "$DATA/$u.token" ]; then
        od -An -tx1 -N16 /dev/urandom | tr -d ' \n' > "$DATA/$u.token"
        chmod 600 "$DATA/$u.token"
    fi
done
cat > "$DATA/users.yaml" <<EOF
users:
  - {name: alice, token_file: alice.token, role: sre}          # hashed e-mails
  - {name: carol, token_file: carol.token, role: compliance}   # raw, where sites allow
EOF
for s in de-onprem us-cloud; do
    cat > "$DATA/$s/collector.yaml" <<EOF
query:
  clients:
    - {name: central, token_file: "$DATA/$s.token", max_view: raw}
EOF
done
# Cost models the centre prices each site's measured use with (docs/cost.md):
# the DE on-prem training cluster amortised, the US cloud site metered
# at its region's price sheet; one currency so they compare.
sed 's/^# .*//' "$ROOT/docs/cost-model.example.yaml" > "$DATA/de-onprem-cost.yaml"
cat > "$DATA/us-cloud-cost.yaml" <<EOF
cost_model:
  currency: USD
  price_sheets:
    - provider: AWS
      region: us-east-1
      valid_from: 2025-06-01
      skus:
        - {sku: p5.48xlarge, meter: gpu-seconds, unit: GPU-hour, price: 6.88}
        - {sku: m7i.xlarge, meter: cpu-seconds, unit: CPU-hour, price: 0.0504}
        - {sku: s3-standard, meter: stored-bytes, unit: GB, price: 0.023}
        - {sku: bedrock-input, meter: gen_ai-input-tokens, unit: 1M tokens, price: 3.00}
        - {sku: bedrock-output, meter: gen_ai-output-tokens, unit: 1M tokens, price: 15.00}
EOF
cat > "$DATA/sites.yaml" <<EOF
sites:
  - name: de-onprem
    token_file: de-onprem.token
    api: "http://127.0.0.1:9470"
    cost_model: de-onprem-cost.yaml
    jurisdiction: DE
    provider: Internal IT (Frankfurt DC)
    region: de-fra-1
  - name: us-cloud
    token_file: us-cloud.token
    api: "http://127.0.0.1:9471"
    cost_model: us-cloud-cost.yaml
    jurisdiction: US
    provider: AWS
    region: us-east-1
EOF
cat > "$DATA/de-onprem/forward.yaml" <<EOF
forward:
  jurisdiction: DE
  heartbeat_interval: 2s
  retry: {initial: 250ms, max: 5s}
  cost:
    model: amortised
    currency: EUR
    provider: "Internal IT (Frankfurt DC)"
    region: de-fra-1
    service_category: "AI and Machine Learning"
    amortised:
      capex: 2400000          # 64 GPUs and their servers
      lifetime_years: 4
      power_kw: 45
      power_price_kwh: 0.27
      operations_per_year: 350000
      gpus: 64
      cpus: 2048
      gpu_share: 0.85
      gb_stored: 0.01
EOF
cat > "$DATA/us-cloud/forward.yaml" <<EOF
forward:
  jurisdiction: US
  heartbeat_interval: 2s
  retry: {initial: 250ms, max: 5s}
  cost:
    model: metered
    currency: USD
    provider: "Example Cloud"
    region: us-east-1
    metered:
      cpu_hour: 0.0416
      gpu_hour: 2.93
      gb_ingested: 0.50
      gb_stored: 0.023
      gb_forwarded: 0.09
      input_tokens_1k: 0.0005
      output_tokens_1k: 0.0015
EOF

# Model versions (docs/models.md): de-onprem is authoritative for
# fraud-detector; the traffic promotes a new version there after 45 s and
# the cloud follows 60 s later, past the 30 s propagation SLO.
cat > "$DATA/central.yaml" <<EOF
models:
  resolution: 5s
  rules:
    - {match: "fraud-*", authority: de-onprem, max_propagation: 30s}
EOF

PIDS=""
cleanup() {
    trap - INT TERM EXIT
    echo
    echo "demo: stopping"
    for p in $PIDS; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

"$BIN" central --data "$DATA/central" --listen 127.0.0.1:9480 --sites "$DATA/sites.yaml" \
    --users "$DATA/users.yaml" --config "$DATA/central.yaml" \
    >> "$DATA/central.log" 2>&1 &
CENTRAL=$!
PIDS="$PIDS $CENTRAL"

TOLLGATE_FORWARD_CONFIG="$DATA/de-onprem/forward.yaml" "$BIN" collector --site de-onprem \
    --config "$DATA/de-onprem/collector.yaml" --data "$DATA/de-onprem" --otlp-grpc 0.0.0.0:4317 --otlp-http 0.0.0.0:4318 \
    --api 127.0.0.1:9470 --central http://127.0.0.1:9480 \
    --central-token-file "$DATA/de-onprem.token" >> "$DATA/de-onprem.log" 2>&1 &
PIDS="$PIDS $!"
TOLLGATE_FORWARD_CONFIG="$DATA/us-cloud/forward.yaml" "$BIN" collector --site us-cloud \
    --config "$DATA/us-cloud/collector.yaml" --data "$DATA/us-cloud" --otlp-grpc 0.0.0.0:14317 --otlp-http 0.0.0.0:14318 \
    --api 127.0.0.1:9471 --central http://127.0.0.1:9480 \
    --central-token-file "$DATA/us-cloud.token" >> "$DATA/us-cloud.log" 2>&1 &
PIDS="$PIDS $!"

for url in http://127.0.0.1:9480/readyz http://127.0.0.1:9470/readyz http://127.0.0.1:9471/readyz; do
    i=0
    until curl -sf "$url" >/dev/null 2>&1; do
        i=$((i + 1))
        if [ "$i" -gt 100 ]; then
            echo "demo: $url did not come up; see $DATA/*.log" >&2
            exit 1
        fi
        sleep 0.1
    done
done

node "$ROOT/scripts/demo-traffic.mjs" --onprem http://127.0.0.1:4318 \
    --cloud http://127.0.0.1:14317 --rate 5 --promote-after 45 --cloud-lag 60 &
PIDS="$PIDS $!"

# The promotion: 45 s in, de-onprem serves fraud-detector 2026.11.3; us-cloud
# keeps 2026.11.2 for a minute. At 90 s it is past the SLO (a warning, also
# in the MODELS section of `tollgate status`); at 125 s it has caught up.
(
    sleep 90
    echo
    echo "demo: model versions, us-cloud behind the promotion (tollgate models):"
    "$BIN" models --endpoint http://127.0.0.1:9480 --token "$(cat "$DATA/alice.token")" ||
        echo "demo: tollgate models failed; see $DATA/central.log"
    sleep 35
    echo
    echo "demo: model versions, us-cloud caught up (tollgate models):"
    "$BIN" models --endpoint http://127.0.0.1:9480 --token "$(cat "$DATA/alice.token")" ||
        echo "demo: tollgate models failed; see $DATA/central.log"
) &
PIDS="$PIDS $!"

# After a minute of traffic: finance's comparison, on-prem amortised
# against cloud metered, and what each would cost at the other's prices.
(
    sleep 60
    echo
    echo "demo: cost after a minute of traffic (tollgate cost report --by site --compare us-east-1):"
    "$BIN" cost report --endpoint http://127.0.0.1:9480 --token "$(cat "$DATA/alice.token")" \
        --from "$(date -u +%Y-%m-%d)" --to "$(date -u -d tomorrow +%Y-%m-%d)" \
        --by site --compare us-east-1 || echo "demo: cost report failed; see $DATA/central.log"
) &
PIDS="$PIDS $!"

cat <<EOF

tollgate demo running: two sites and a central view (logs in $DATA/*.log)

  de-onprem  OTLP :4317 (gRPC) :4318 (HTTP)   API http://127.0.0.1:9470   amortised (docs/cost-model.example.yaml)
  us-cloud   OTLP :14317 :14318               API http://127.0.0.1:9471   metered (AWS us-east-1 list prices)
  central    http://127.0.0.1:9480

Where to look:
  $BIN status --token-file $DATA/alice.token   the estate, one row per site, warnings,
                                               and MODELS (fraud-detector's promotion)
  $BIN models --token \$(cat $DATA/alice.token)  which site serves which model version
  $BIN central export --data $DATA/central | head -20
                                               everything the centre holds, as JSON lines
  $BIN central export --data $DATA/central | grep '"type":"cost"' | head -3
                                               FOCUS-shaped cost records: on-prem vs cloud
  curl -s -H "Authorization: Bearer \$(cat $DATA/alice.token)" http://127.0.0.1:9480/metrics
                                               every figure of every link
  curl -s http://127.0.0.1:9470/api/v1/status  a site's own view of its link

What to try:
  One query at the centre, fanned out to both sites: a request that crossed them
  comes back as one trace (the waterfall names each span's site), as the SRE sees it:
    $BIN query --endpoint http://127.0.0.1:9480 --token \$(cat $DATA/alice.token) trace <trace id printed below>
  ... and as the compliance officer sees it (raw values, where the sites allow):
    $BIN query --endpoint http://127.0.0.1:9480 --token \$(cat $DATA/carol.token) trace <trace id>
  TraceQL across both sites (failing requests whose gateway called the feature store):
    $BIN query --endpoint http://127.0.0.1:9480 --token \$(cat $DATA/alice.token) \\
        traces '{ resource.service.name = "gateway" } >> { resource.service.name = "feature-store" && status = error }'
  Grafana: dashboards/ has the data sources (Tempo, Loki, Prometheus) and dashboards.
  Regulated values stay home: the traffic plants e-mails, card numbers, an SSN and
  patient numbers. At the site they are there, at the centre they are not:
    $BIN central export --data $DATA/central | grep -c 'alice.regulated@example.com'   (0)
  A partition: stop the centre and watch the sites keep ingesting and queueing:
    kill -STOP $CENTRAL; sleep 15; $BIN status --endpoint http://127.0.0.1:9470
    kill -CONT $CENTRAL; sleep 5; $BIN status --token-file $DATA/alice.token
  Clock skew, version skew and TLS: see docs/central.md.

Ctrl-C stops everything.
EOF
wait
