#!/usr/bin/env bash
# Make sure the real services the tests and the demo use are installed (DESIGN.md, "What works
# means here"): influxd (Debian package influxdb), mosquitto, mosquitto_pub / mosquitto_sub
# (mosquitto-clients), headless chromium (browser tests), docker-compose (compose-file
# validation) and a CJK font (fonts-wqy-microhei): the screens are in Chinese, and a browser
# without a CJK font draws every Chinese character as a box (browser tests, screenshots, a kiosk),
# and PostgreSQL 15 (postgresql: the hub database's contract suites start their own server), and
# gammu-smsd (the local GSM modem channel: its tests run the real daemon on gammu's fake phone driver),
# gammu (its command line tool puts incoming messages into that fake phone), and redis-server and
# haproxy (the hub cluster's tests start their own Redis 7.0 and HAProxy 2.6), and for live video
# (docs/video.md) ffmpeg (the gateway remuxes RTSP with it) and GStreamer's RTSP server through
# python3-gi with x264enc (the camera simulator's stream).
# Idempotent: installs only what is missing, prints one line per package it installs, and
# nothing else when all is present. Starts no service.
#
#   scripts/ensure-deps.sh           install what is missing (needs root)
#   scripts/ensure-deps.sh --check   only report; exit 1 if something is missing
set -euo pipefail

check_only=0
case "${1:-}" in
  --check) check_only=1 ;;
  "") ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

# mosquitto and haproxy live in /usr/sbin, which is not on a normal user's PATH.
search_path="${PATH}:/usr/sbin:/sbin"

# "binary package" pairs, in install order.
REQUIRED=(
  "influxd influxdb"
  "mosquitto mosquitto"
  "mosquitto_pub mosquitto-clients"
  "mosquitto_sub mosquitto-clients"
  "chromium chromium"
  "docker-compose docker-compose"
  "gammu-smsd gammu-smsd"
  "gammu-smsd-inject gammu-smsd"
  "gammu gammu"
  "redis-server redis-server"
  "haproxy haproxy"
  "ffmpeg ffmpeg"
  "ffprobe ffmpeg"
)

have() { PATH="$search_path" command -v "$1" >/dev/null 2>&1; }

# A font is no binary: the CJK font counts as present when fontconfig knows a font for Chinese
# (`fc-list :lang=zh`, any package: fonts-noto-cjk does as well), or when fontconfig is absent
# and the WenQuanYi file is there.
CJK_FONT_PKG=fonts-wqy-microhei
CJK_FONT_FILE=/usr/share/fonts/truetype/wqy/wqy-microhei.ttc
have_cjk_font() {
  if have fc-list; then
    [[ -n "$(fc-list :lang=zh family 2>/dev/null | head -n 1)" ]]
  else
    [[ -f "$CJK_FONT_FILE" ]]
  fi
}

# PostgreSQL's server binaries are not on PATH (Debian keeps them per major version): look for the
# file test/support/postgres.ts runs.
PG_PKG=postgresql
PG_SERVER=/usr/lib/postgresql/15/bin/postgres
have_postgres() { [[ -x "$PG_SERVER" ]]; }

# The camera simulator's RTSP server: GStreamer's RTSP server library through Debian's python3-gi
# (/usr/bin/python3: a python3 earlier on PATH, e.g. pyenv's, does not see Debian's modules), with the
# elements it links (videotestsrc; clockoverlay from gstreamer1.0-x; x264enc; h264parse from -bad; rtph264pay). Present when Python can load them.
GST_PKGS=(python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly gstreamer1.0-plugins-bad gstreamer1.0-x)
have_gst_rtsp() {
  /usr/bin/python3 - <<'PY' >/dev/null 2>&1
import gi
gi.require_version('Gst', '1.0')
gi.require_version('GstRtspServer', '1.0')
from gi.repository import Gst, GstRtspServer
Gst.init(None)
for e in ('videotestsrc', 'clockoverlay', 'x264enc', 'rtph264pay', 'h264parse'):
    assert Gst.ElementFactory.find(e), e
PY
}

missing_pkgs=()
for pair in "${REQUIRED[@]}"; do
  read -r bin pkg <<<"$pair"
  if ! have "$bin"; then
    # One package may provide several binaries; list it once.
    [[ " ${missing_pkgs[*]-} " == *" $pkg "* ]] || missing_pkgs+=("$pkg")
  fi
done
have_cjk_font || missing_pkgs+=("$CJK_FONT_PKG")
have_postgres || missing_pkgs+=("$PG_PKG")
if ! have_gst_rtsp; then
  for pkg in "${GST_PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing_pkgs+=("$pkg")
  done
  # All installed and still not loadable: reinstalling will not help; say so below.
  [[ ${#missing_pkgs[@]} -gt 0 ]] || { echo "ensure-deps: GStreamer's RTSP server is installed but python3 cannot load it with x264enc" >&2; exit 1; }
fi

if [[ ${#missing_pkgs[@]} -eq 0 ]]; then
  exit 0
fi

if [[ $check_only -eq 1 ]]; then
  echo "ensure-deps: missing Debian packages: ${missing_pkgs[*]} (run scripts/ensure-deps.sh as root)" >&2
  exit 1
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "ensure-deps: missing Debian packages: ${missing_pkgs[*]}" >&2
  echo "ensure-deps: not root; install them with: sudo apt-get install -y ${missing_pkgs[*]}" >&2
  exit 1
fi

log=$(mktemp -t rb-ensure-deps.XXXXXX.log)
trap 'rm -f "$log"' EXIT

export DEBIAN_FRONTEND=noninteractive
# RUNLEVEL=1 makes invoke-rc.d skip starting the packages' services: tests start their own
# influxd / mosquitto / postgres / redis-server / haproxy on free ports, and nothing should run by itself.
apt_install() { RUNLEVEL=1 apt-get install -y -q --no-install-recommends "$@" >>"$log" 2>&1; }

for pkg in "${missing_pkgs[@]}"; do
  echo "ensure-deps: installing $pkg"
  if ! apt_install "$pkg"; then
    # Usually a stale or empty package index (fresh containers ship without one): refresh once.
    if [[ -z "${updated:-}" ]]; then
      updated=1
      apt-get update -q >>"$log" 2>&1 || true
    fi
    if ! apt_install "$pkg"; then
      echo "ensure-deps: FAILED to install $pkg; last lines of apt-get output:" >&2
      tail -n 20 "$log" >&2
      exit 1
    fi
  fi
done

# Verify the result instead of trusting apt-get's exit code.
for pair in "${REQUIRED[@]}"; do
  read -r bin pkg <<<"$pair"
  if ! have "$bin"; then
    echo "ensure-deps: $bin still missing after installing $pkg" >&2
    exit 1
  fi
done
if ! have_cjk_font; then
  echo "ensure-deps: no CJK font after installing $CJK_FONT_PKG (fc-list :lang=zh is empty)" >&2
  exit 1
fi
if ! have_postgres; then
  echo "ensure-deps: $PG_SERVER still missing after installing $PG_PKG (Debian bookworm's postgresql is 15)" >&2
  exit 1
fi
if ! have_gst_rtsp; then
  echo "ensure-deps: python3 cannot load GStreamer's RTSP server with x264enc after installing ${GST_PKGS[*]}" >&2
  exit 1
fi
