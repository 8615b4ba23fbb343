#!/usr/bin/env bash
# Every benchmark, in sequence. Each prints a table and writes JSON under bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
npm run -s build
npx tsx bench/gateway.ts
npx tsx bench/hub.ts
npx tsx bench/alerts.ts
npx tsx bench/notify.ts
npx tsx bench/cluster.ts
