#!/usr/bin/env bash
# Regenerates every PyTorch golden fixture under tests/fixtures/golden/ (needs Debian's python3-torch).
set -euo pipefail
cd "$(dirname "$0")"
PY=/usr/bin/python3
"$PY" -c 'import torch' 2>/dev/null || { echo "generate.sh: $PY has no torch (apt-get install python3-torch)" >&2; exit 1; }
for f in *.py; do
  case "$f" in common.py|check_*.py) continue ;; esac
  [ $# -gt 0 ] && [[ " $* " != *" ${f%.py} "* ]] && continue
  "$PY" "$f"
done
