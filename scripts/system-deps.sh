#!/usr/bin/env bash
# Debian packages the test suite needs that pip cannot provide: Chromium for the browser tests
# (Playwright drives Debian's build; its own browser download cannot work here).
# wrk drives the load benchmark (bench/scale.py), which CI runs at a small size.
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v wrk >/dev/null || missing+=(wrk)  # the load benchmark, run small by tests/test_bench_scale.py
fc-list 2>/dev/null | grep -qi liberation || missing+=(fonts-liberation)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "Missing system packages: ${missing[*]}. Install them (Debian/Ubuntu: sudo apt-get install ${missing[*]})." >&2
  exit 1
fi
echo "Installing ${missing[*]} from Debian's packages..."
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
[ -x /usr/bin/chromium ] || { echo "chromium did not install" >&2; exit 1; }
