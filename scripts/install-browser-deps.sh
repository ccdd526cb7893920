#!/usr/bin/env bash
# Installs Debian's Chromium for the real-browser tests (Playwright drives it; it
# cannot download its own browser here) and a colour emoji font (the panel's 👍/👎
# marks in the screenshots). Does nothing when both are there.
set -euo pipefail
if [ -x /usr/bin/chromium ] && { ! command -v fc-list >/dev/null 2>&1 || fc-list | grep -qi emoji; }; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi
if command -v apt-get >/dev/null 2>&1; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-noto-color-emoji >/dev/null
else
    echo "install-browser-deps: no apt-get; install Chromium at /usr/bin/chromium yourself," \
         "or run the suite with -m 'not browser'" >&2
fi
