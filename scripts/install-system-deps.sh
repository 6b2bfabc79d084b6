#!/usr/bin/env bash
# Debian packages the test suite starts for real. Idempotent: installs only what is missing.
set -euo pipefail

need=()
for pkg in "$@"; do :; done
add_if_missing() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed" || need+=("$1"); }

# (sections for Kannel and Chromium are added by the parts that need them)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "need root to install: ${need[*]} (run: sudo apt-get install ${need[*]})" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}"
