#!/usr/bin/env bash
# Sets up Bastidor on this machine: a Chromium-family browser and the Python package with its test tools.
# Safe to run again. Usage: bash tools/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

have_browser() {
  for name in chromium chromium-browser google-chrome google-chrome-stable chrome; do
    command -v "$name" >/dev/null 2>&1 && return 0
  done
  [ -n "${BASTIDOR_BROWSER:-}" ] && [ -x "${BASTIDOR_BROWSER}" ]
}

if ! have_browser; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    echo "setup: installing Chromium with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "setup: no Chromium or Chrome found; trying Playwright's own browser download"
    python -m pip install -q playwright
    python -m playwright install chromium || {
      echo "setup: could not install a browser. Install Chromium or Chrome (e.g. 'sudo apt-get install chromium')" >&2
      echo "       or set BASTIDOR_BROWSER to the path of one, then run this again." >&2
      exit 1
    }
  fi
fi

if ! command -v chromium-headless-shell >/dev/null 2>&1 && command -v chromium >/dev/null 2>&1 \
    && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
  echo "setup: installing Chromium's headless shell (headless bots use it: less CPU per item)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium-headless-shell >/dev/null 2>&1 \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium-headless-shell >/dev/null; } \
    || echo "setup: Chromium's headless shell is not available here; bots use the full Chromium"
fi

echo "setup: bringing pip and setuptools up to date in this environment"
python -m pip install -q --upgrade pip "setuptools>=77"
echo "setup: installing Bastidor and its test tools"
python -m pip install -q -e ".[test]"
bash tools/start_postgres.sh
bash tools/install_mail_server.sh
echo "setup: done"
