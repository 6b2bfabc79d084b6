#!/usr/bin/env bash
# Debian packages the test suite starts for real. Idempotent: installs only what is missing.
set -euo pipefail

need=()
for pkg in "$@"; do :; done
add_if_missing() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed" || need+=("$1"); }

# (sections for Kannel and Chromium are added by the parts that need them)

# --- sms and ussd: Kannel (bearerbox, smsbox) and kannel-extras (the fakesmsc test SMSC) ---
# The tests run their own bearerbox/smsbox on 127.0.0.1 with a generated config; the
# package's own service must not start on install (it would bind the default ports), so
# invoke-rc.d is blocked by a temporary policy-rc.d and any pre-existing one is restored.
add_if_missing kannel
add_if_missing kannel-extras
if [[ " ${need[*]-} " == *" kannel"* ]] && [ "$(id -u)" -eq 0 ]; then
  kannel_policy=/usr/sbin/policy-rc.d
  kannel_saved=""
  if [ -e "$kannel_policy" ]; then
    kannel_saved=$(mktemp)
    cp -p "$kannel_policy" "$kannel_saved"
  fi
  kannel_restore_policy() {
    if [ -n "$kannel_saved" ]; then
      cp -p "$kannel_saved" "$kannel_policy" && rm -f "$kannel_saved"
    else
      rm -f "$kannel_policy"
    fi
  }
  trap kannel_restore_policy EXIT
  printf '#!/bin/sh\nexit 101\n' > "$kannel_policy"
  chmod 755 "$kannel_policy"
fi
# --- end sms and ussd ---

# --- web: Chromium, driven headless by the browser tests (Playwright, never a downloaded browser) ---
add_if_missing chromium
add_if_missing chromium-driver
# a small CJK font, so Chinese renders in the headless browser (and its screenshots)
add_if_missing fonts-wqy-microhei
# --- end web ---

# --- benchmarks: wrk, the load generator of benchmarks/sms_bench.py ---
add_if_missing wrk
# --- end benchmarks ---

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
