#!/usr/bin/env bash
# Make sure Debian's headless Chromium (and a CJK font, so the report's
# Chinese labels render in screenshots) is installed; print the browser path.
# Used by tests/reporting/test_report_browser.py. Exit 0 with the path on the
# last line of stdout, non-zero (with the reason on stderr) when it cannot be
# installed (no root, no network to the Debian mirror).
set -euo pipefail

find_browser() {
  command -v chromium || command -v chromium-browser || true
}

browser="$(find_browser)"
have_font() { fc-list 2>/dev/null | grep -qiE 'wqy|noto sans cjk|noto serif cjk|droid sans fallback'; }

if [[ -z "$browser" ]] || ! have_font; then
  if [[ "$(id -u)" != "0" ]]; then
    echo "ensure_chromium: chromium or a CJK font is missing and this is not root; install with: apt-get install -y chromium fonts-wqy-microhei" >&2
    [[ -n "$browser" ]] && { echo "$browser"; exit 0; }
    exit 2
  fi
  export DEBIAN_FRONTEND=noninteractive
  # Quiet, but keep apt's last lines if it fails.
  if ! out="$( (apt-get update && apt-get install -y --no-install-recommends chromium fonts-wqy-microhei) 2>&1)"; then
    echo "ensure_chromium: apt-get failed:" >&2
    echo "$out" | tail -5 >&2
    browser="$(find_browser)"
    [[ -n "$browser" ]] && { echo "$browser"; exit 0; }
    exit 3
  fi
  browser="$(find_browser)"
fi

if [[ -z "$browser" ]]; then
  echo "ensure_chromium: chromium is not on PATH after installing" >&2
  exit 4
fi
echo "$browser"
