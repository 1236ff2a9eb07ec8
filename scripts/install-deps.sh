#!/usr/bin/env bash
# Installs what Bruno needs from Debian: ngspice's shared library and headers (libngspice0-dev), and the
# ngspice package, which ships spinit and the XSPICE code models the library loads at start-up.
set -euo pipefail
packages=(libngspice0-dev ngspice)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: ${packages[*]} already installed"
  exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# Two apt runs at once fight over the cache; retry a few times rather than fail on a lock or a missing archive.
for attempt in 1 2 3 4; do
  if $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${missing[@]}"; then
    echo "install-deps: installed ${missing[*]}"
    exit 0
  fi
  echo "install-deps: attempt $attempt failed; retrying in $((attempt * 5)) s" >&2
  sleep $((attempt * 5))
done
echo "install-deps: could not install ${missing[*]}" >&2
exit 1
