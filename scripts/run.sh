#!/usr/bin/env bash
# `make run`: the PBX Asterisk in the background, the service in the foreground; Ctrl-C stops both.
# A service that dies (crash, kill -9) is started again while Asterisk stays up, as the systemd unit's
# Restart=on-failure does: meanwhile the dialplan rings the fallback phones.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
VAR=${IVR_VAR_DIR:-var}
RESTART_SECONDS=${IVR_RESTART_SECONDS:-2}
BURST=5           # more failures than this within BURST_WINDOW seconds: give up, as systemd's StartLimitBurst
BURST_WINDOW=60
if [ -f "$VAR/ivr.pid" ] && kill -0 "$(cat "$VAR/ivr.pid")" 2>/dev/null; then
  echo "already running (pid $(cat "$VAR/ivr.pid")); \`make stop\` stops it"
  exit 0
fi
# Local calling hours need each callee's region: a fresh database gets the shipped sample registry
# (replace it with the regulator's files: docs/campaigns.md, "Local hours").
if [ ! -e "$VAR/numbering/registry" ]; then
  echo "importing the sample numbering registry (config/numbering/sample-DEF-9xx.csv)"
  $PY -m ivr.cli numbering import config/numbering/sample-DEF-9xx.csv || exit 1
fi
$PY -m ivr.cli asterisk start || exit 1
$PY -m ivr.cli phones || exit 1
stopping=0
trap 'stopping=1' INT TERM
trap '[ "$stopping" = 1 ] && $PY -m ivr.cli asterisk stop >/dev/null 2>&1 || true' EXIT
failures=()
while :; do
  $PY ari_app.py
  status=$?
  # 0: stopped on request (Ctrl-C, `make stop`); 130/143: killed by SIGINT/SIGTERM before it could
  # say so. Both are clean stops, as for systemd.
  if [ "$stopping" = 1 ] || [ $status -eq 0 ] || [ $status -eq 130 ] || [ $status -eq 143 ]; then
    stopping=1
    break
  fi
  now=$(date +%s)
  failures=($(for t in "${failures[@]}" "$now"; do [ $((now - t)) -lt $BURST_WINDOW ] && echo "$t"; done))
  if [ ${#failures[@]} -gt $BURST ]; then
    echo "run.sh: the service failed ${#failures[@]} times in ${BURST_WINDOW} s; not restarting it." \
         "Asterisk stays up and rings the fallback phones; \`make stop\` stops it." >&2
    exit 1
  fi
  echo "run.sh: the service exited with status $status; restarting it in ${RESTART_SECONDS} s" >&2
  sleep "$RESTART_SECONDS"
  [ "$stopping" = 1 ] && break
done
