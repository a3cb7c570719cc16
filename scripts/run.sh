#!/usr/bin/env bash
# `make run`: the PBX Asterisk in the background, the service in the foreground; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f var/ivr.pid ] && kill -0 "$(cat var/ivr.pid)" 2>/dev/null; then
  echo "already running (pid $(cat var/ivr.pid)); \`make stop\` stops it"
  exit 0
fi
# Local calling hours need each callee's region: a fresh database gets the shipped sample registry
# (replace it with the regulator's files: docs/campaigns.md, "Local hours").
if [ ! -e var/numbering/registry ]; then
  echo "importing the sample numbering registry (config/numbering/sample-DEF-9xx.csv)"
  .venv/bin/python -m ivr.cli numbering import config/numbering/sample-DEF-9xx.csv
fi
.venv/bin/python -m ivr.cli asterisk start
.venv/bin/python -m ivr.cli phones
trap '.venv/bin/python -m ivr.cli asterisk stop >/dev/null 2>&1 || true' EXIT
.venv/bin/python ari_app.py
