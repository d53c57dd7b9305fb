#!/usr/bin/env bash
# Installs the Debian packages the tests and the demo use. Needs root (as on a fresh Debian 12
# CI machine); without root it says which packages are missing and carries on, so that the
# tests that need them skip saying why.
set -euo pipefail
want=(python3-venv postgresql redis-server sip-tester debootstrap espeak-ng sox chromium)
# Node.js: some machines carry NodeSource's nodejs, which bundles npm and conflicts with Debian's
# npm package ("held broken packages"); ask apt for them only when there is no npm at all.
command -v npm >/dev/null 2>&1 || want+=(nodejs npm)
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "Faltan paquetes de Debian / Missing Debian packages (need root): ${missing[*]}" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The package starts its own cluster and server; the tests start theirs on free ports.
systemctl stop postgresql redis-server >/dev/null 2>&1 || service postgresql stop >/dev/null 2>&1 || true
