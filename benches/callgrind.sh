#!/usr/bin/env bash
# Instructions per Get, counted by callgrind (README, "Performance"): a
# count that a busy neighbour does not disturb, unlike Gets a second.
#
#   benches/callgrind.sh [SERVE_FLAGS...]
#
# Builds the release server (with the benchmark's switches), starts it
# under valgrind on a fresh SQLite database with the demo data, creates the
# 5 relations of customer 1001 that the load benchmark's Get reads, sends
# 300 Gets to warm up, counts the whole process over the next GETS (3000)
# Gets on one keep-alive connection, and prints the instructions per Get.
# SERVE_FLAGS go to `serve`, e.g. `--bench-without=authentication,metrics`;
# RUST_LOG (default info) filters the log, so RUST_LOG=warn leaves the
# request log out. BIN names a server binary to use instead of building one.
# Needs valgrind and python3 (Debian: valgrind, python3).
set -euo pipefail
cd "$(dirname "$0")/.."

gets=${GETS:-3000}
if [ -z "${BIN:-}" ]; then
  cargo build --quiet --release --features bench-switches
  BIN=target/release/customer-relations
fi
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

RUST_LOG=${RUST_LOG:-info} valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" \
  "$BIN" serve --demo --bind "127.0.0.1:$port" --database "sqlite://$work/db.sqlite" "$@" \
  >/dev/null 2>"$work/server.log" &
server=$!

# The demo clients: demo-bus creates, demo-reader reads.
python3 - "$port" "$gets" "$server" <<'EOF'
import http.client, subprocess, sys, time

port, gets, server = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
bus = "Basic ZGVtby1idXM6ZGVtby1idXMtc2VjcmV0"
reader = "Basic ZGVtby1yZWFkZXI6ZGVtby1yZWFkZXItc2VjcmV0"
ns = "urn:customer-relations:v1"

def envelope(body):
    return ('<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">'
            f'<s:Body>{body}</s:Body></s:Envelope>').encode()

for _ in range(1200):
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request("GET", "/health")
        connection.getresponse().read()
        break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit("the server did not start under valgrind within 2 minutes")

def post(authorization, body):
    connection.request("POST", "/CustomerRelationService", body=envelope(body),
                       headers={"Content-Type": "text/xml; charset=utf-8",
                                "Authorization": authorization})
    response = connection.getresponse()
    return response.status, response.read()

for n in range(1, 6):
    status, answer = post(bus, f'<CreateCustomerRelation xmlns="{ns}"><CustomerRelation>'
                          '<CustomerNumber>1001</CustomerNumber><RelationTypeCode>FACEBOOK</RelationTypeCode>'
                          f'<Reference>seed-{n}</Reference></CustomerRelation></CreateCustomerRelation>')
    assert status == 200, answer

get = (f'<GetCustomerRelationsByCustomer xmlns="{ns}">'
       '<CustomerNumber>1001</CustomerNumber></GetCustomerRelationsByCustomer>')

def gets_of(count):
    for _ in range(count):
        status, answer = post(reader, get)
        assert status == 200 and answer.count(b"<CustomerRelation>") == 5, answer[:300]

gets_of(300)
subprocess.run(["callgrind_control", "--zero", server], check=True, capture_output=True)
gets_of(gets)
subprocess.run(["callgrind_control", "--dump", server], check=True, capture_output=True)
EOF

kill "$server"
wait "$server" 2>/dev/null || true
# The dump after the Gets is the first numbered one; the last is the exit's.
total=$(callgrind_annotate "$work/callgrind.out.1" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }')
echo "$((total / gets)) instructions per Get (${gets} Gets, RUST_LOG=${RUST_LOG:-info}${*:+, $*})"
