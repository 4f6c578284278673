#!/usr/bin/env bash
# Installs the Debian packages the tests need (PostgreSQL server, Chromium, a CJK font) when missing.
set -euo pipefail
needed=()
command -v pg_ctlcluster >/dev/null 2>&1 && dpkg -s postgresql >/dev/null 2>&1 || needed+=(postgresql)
[ -x /usr/bin/chromium ] || needed+=(chromium)
dpkg -s fonts-wqy-microhei >/dev/null 2>&1 || needed+=(fonts-wqy-microhei)
if [ ${#needed[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${needed[*]} — run as root or: sudo apt-get install -y ${needed[*]}" >&2
  exit 1
fi
echo "installing ${needed[*]} ..."
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${needed[@]}" >/dev/null
