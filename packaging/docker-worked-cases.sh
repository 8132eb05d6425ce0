#!/usr/bin/env bash
# Builds the image (Dockerfile) and runs the worked cases through the zeep
# client against a container of it, with its SQLite data in a volume; then
# checks the container's HEALTHCHECK. Needs a Docker engine and Python 3;
# CI does not run it (its machines have no Docker engine).
#
#   bash packaging/docker-worked-cases.sh
set -euo pipefail
cd "$(dirname "$0")/.."
docker info >/dev/null 2>&1 || { echo "no Docker engine here" >&2; exit 1; }

image=customer-relations:test
name="cr-worked-cases-$$"
volume="cr-worked-cases-$$"
port=18480
cleanup() {
  docker rm -f "$name" >/dev/null 2>&1 || true
  docker volume rm "$volume" >/dev/null 2>&1 || true
}
trap cleanup EXIT

docker build -t "$image" .
docker volume create "$volume" >/dev/null
docker run -d --name "$name" -p "127.0.0.1:$port:8080" -v "$volume:/data" "$image" serve --demo >/dev/null
for _ in $(seq 1 60); do
  curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null && break
  sleep 1
done
curl -sf "http://127.0.0.1:$port/health/ready"

python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r tests/zeep/requirements.txt
(cd tests/zeep && CR_ENDPOINT="http://127.0.0.1:$port/CustomerRelationService" \
  ../../.venv/bin/python -m pytest -q -p no:cacheprovider test_worked_cases.py -k "soap_11 and sqlite")

for _ in $(seq 1 30); do
  status=$(docker inspect --format '{{.State.Health.Status}}' "$name")
  [ "$status" = healthy ] && break
  sleep 2
done
echo "HEALTHCHECK: $status"
[ "$status" = healthy ]
# Runs as the unprivileged user, with its database in the volume.
docker exec "$name" sh -c 'id -u; ls /data'
