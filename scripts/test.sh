#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs npm dependencies if needed, the Debian services
# the tests use for real (influxd, mosquitto, mosquitto-clients, postgresql, redis-server, haproxy, chromium, docker-compose, a CJK font), builds the
# CLI and the screens, then runs vitest.
# Writes the runner's JSON report to test-results/report.json. Extra arguments go to vitest.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ ! -d node_modules || ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "test: installing npm dependencies (npm ci)…"
  npm ci --no-audit --no-fund
fi
echo "test: checking Debian packages (influxdb, mosquitto, mosquitto-clients, postgresql, redis-server, haproxy, gammu-smsd, chromium, docker-compose, a CJK font)…"
bash scripts/ensure-deps.sh
echo "test: building…"
npm run -s build
mkdir -p test-results
rm -f test-results/report*.json
# Four passes: everything else (two workers, real services); the browser tests (headless chromium
# beside a hub, a gateway and simulators: one worker, so two browsers do not starve each other on two
# cores); the e2e alert flow and the REST suites again with every test hub on its own database of one real
# PostgreSQL 15 (vitest.postgres.config.ts); then the hostile-device tests and the connection and retained floods alone, because they assert event-loop
# blocking under 50 ms and RSS growth under a few MiB, which only mean something on a quiet machine
# (beside the other tests the retained flood once measured +33 MiB instead of +1 MiB;
# the connection flood peaks at +100..125 MiB of RSS);
# one file at a time, so they do not measure each other.
echo "test: running vitest…"
rc=0
npx vitest run --exclude 'test/devices/hostile/**' --exclude 'test/browser/**' --exclude 'test/hub/retained.test.ts' --exclude 'test/hub/hardening-flood.test.ts' --reporter=default --reporter=json --outputFile.json=test-results/report.json "$@" || rc=$?
if [[ $# -eq 0 ]]; then
  echo "test: running the browser tests (headless chromium)…"
  npx vitest run test/browser --maxWorkers=1 --reporter=default --reporter=json --outputFile.json=test-results/report-browser.json || rc=$?
  echo "test: running the e2e alert flow and the REST suites again with the hub on PostgreSQL 15…"
  npx vitest run --config vitest.postgres.config.ts test/e2e test/hub/query-api.test.ts test/hub/people/api.test.ts test/hub/web-routes.test.ts test/hub/orders/api.test.ts test/hub/orders/deadlines-api.test.ts test/hub/orders/whistle-api.test.ts test/hub/orders/import-api.test.ts test/hub/patrol/api.test.ts test/hub/orders/figures.test.ts test/hub/orders/figures-retention.test.ts test/hub/residents/hub.test.ts --reporter=default --reporter=json --outputFile.json=test-results/report-postgres.json || rc=$?
  echo "test: running the hostile-device and hostile-gateway tests on their own…"
  npx vitest run test/devices/hostile test/hub/retained.test.ts test/hub/hardening-flood.test.ts --maxWorkers=1 --reporter=default --reporter=json --outputFile.json=test-results/report-hostile.json || rc=$?
fi
exit $rc
