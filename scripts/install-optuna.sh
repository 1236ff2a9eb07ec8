#!/usr/bin/env bash
# Installs the `optuna` command line for `bruno sweep --optuna-space` (Bruno links no Python: it runs
# `optuna create-study|ask|tell`). A virtual environment keeps it apart from Debian's Python packages.
# Usage: bash scripts/install-optuna.sh [VENV]   (default ~/.local/share/bruno/optuna); prints the bin folder.
set -euo pipefail
venv=${1:-${BRUNO_OPTUNA_VENV:-$HOME/.local/share/bruno/optuna}}
if [ -x "$venv/bin/optuna" ]; then
  echo "install-optuna: $("$venv/bin/optuna" --version) already in $venv" >&2
  echo "$venv/bin"
  exit 0
fi
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >&2
fi
python3 -m venv "$venv" >&2
for attempt in 1 2 3; do
  if "$venv/bin/pip" install -q optuna >&2; then
    echo "install-optuna: $("$venv/bin/optuna" --version) in $venv" >&2
    echo "$venv/bin"
    exit 0
  fi
  echo "install-optuna: attempt $attempt failed; retrying in $((attempt * 5)) s" >&2
  sleep $((attempt * 5))
done
echo "install-optuna: could not pip install optuna into $venv" >&2
exit 1
