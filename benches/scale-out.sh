#!/usr/bin/env bash
# One instance against two on one PostgreSQL database, with wrk (Debian
# package wrk): Get of a customer with 5 relations, then creates, 64
# connections in all, 8 s each. Prints requests per second and p99.
#
#   bash benches/scale-out.sh [postgres://user@host:5432/admin-database]
#
# It creates and drops a database of its own. The README's "High
# availability" shows what it printed on one 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
admin="${1:-${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}}"
database="cr_scale_out_$$"
url="${admin%/*}/$database"
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }

cargo build --release --quiet
psql "$admin" -qc "CREATE DATABASE $database"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql "$admin" -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)"
}
trap cleanup EXIT

serve() { # port [flags]
  local port=$1; shift
  # The creates all go to customer 1000: far above the default bound on one
  # customer's relations.
  RUST_LOG=warn ./target/release/customer-relations serve --bind "127.0.0.1:$port" \
    --database "$url" --max-relations-per-customer 100000000 "$@" >/dev/null 2>&1 &
  pids+=($!)
  for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && return; sleep 0.2; done
  echo "the instance on $port did not start" >&2; exit 1
}
run() { # label script connections port...
  local label=$1 script=$2 connections=$3; shift 3
  local dir; dir=$(mktemp -d)
  local loads=()
  for port in "$@"; do
    PREFIX="${label// /-}-$port" wrk -t1 -c"$connections" -d8s --latency -s "benches/$script" \
      "http://127.0.0.1:$port/CustomerRelationService" >"$dir/$port" &
    loads+=($!)
  done
  wait "${loads[@]}"
  local total=0
  for port in "$@"; do
    local out=$dir/$port rate p99
    rate=$(awk '/Requests\/sec/ {print $2}' "$out"); p99=$(awk '$1 == "99%" {print $2}' "$out")
    printf '%-32s %10s/s  p99 %s\n' "$label (:$port)" "$rate" "$p99"
    total=$(awk -v t="$total" -v r="$rate" 'BEGIN {print t + r}')
  done
  rm -rf "$dir"
  printf '%-32s %10s/s in all\n' "$label" "$total"
}

serve 18401 --demo
for n in 1 2 3 4 5; do
  curl -s "http://127.0.0.1:18401/CustomerRelationService" -u demo-bus:demo-bus-secret -H 'Content-Type: text/xml' --data \
    "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><CreateCustomerRelation xmlns=\"urn:customer-relations:v1\"><CustomerRelation><CustomerNumber>1001</CustomerNumber><RelationTypeCode>FACEBOOK</RelationTypeCode><Reference>seed-$n</Reference></CustomerRelation></CreateCustomerRelation></s:Body></s:Envelope>" >/dev/null
done
run "get, one instance" get.lua 64 18401
run "create, one instance" create.lua 64 18401
serve 18402
run "get, two instances" get.lua 32 18401 18402
run "create, two instances" create.lua 32 18401 18402
