#!/usr/bin/env bash
# System packages the test suite needs: Debian's Chromium and its driver (real-browser
# tests). Installs only what is missing; needs root (or sudo).
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
[ ${#need[@]} -eq 0 ] && exit 0
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO=sudo; else
    echo "neurodash: the browser tests need ${need[*]}; install them as root (apt-get install ${need[*]})" >&2
    exit 1
  fi
fi
echo "Installing ${need[*]} (Debian packages) for the browser tests..."
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need[@]}"
