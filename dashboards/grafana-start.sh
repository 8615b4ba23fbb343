#!/bin/sh
# Entrypoint of the Grafana container (docker-compose.yml): copies the generated dashboards with the
# hub's address filled in, then starts Grafana as its image does (/run.sh).
#
# Grafana expands environment variables in provisioning YAML but not in dashboard JSON
# (grafana/grafana#10786, #83003), so the generated JSON carries the placeholder __RB_HUB_URL__
# (the `hub_url` constant of every dashboard, used by the links to the hub's estate screens) and
# this script puts RB_HUB_URL in its place, in a copy, at every start. docs/deploy.md, "Grafana".
set -eu

src="${RB_DASHBOARDS_SRC:-/etc/red-butler/dashboards}"
dst="${RB_DASHBOARDS_DST:-/var/lib/grafana/dashboards/red-butler}"
url="${RB_HUB_URL:-http://localhost:8080}"
url="${url%/}"

# Only what a URL of the hub needs: no quotes, spaces, backslashes, `&` or `|` (sed and JSON).
if ! printf '%s' "$url" | grep -Eq '^https?://[A-Za-z0-9.:@%_~+-]+(/[A-Za-z0-9.:@%_~+/-]*)?$'; then
  echo "grafana-start: RB_HUB_URL must be an http(s) URL such as http://192.168.1.10:8080, got: $url" >&2
  exit 1
fi

rm -rf "$dst"
for dir in "$src"/*/; do
  lang=$(basename "$dir")
  mkdir -p "$dst/$lang"
  for file in "$dir"*.json; do
    [ -e "$file" ] || continue
    sed "s|__RB_HUB_URL__|$url|g" "$file" > "$dst/$lang/$(basename "$file")"
  done
done
echo "grafana-start: dashboards in $dst link to the hub at $url"

exec "${RB_GRAFANA_RUN:-/run.sh}" "$@"
