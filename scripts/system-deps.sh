#!/usr/bin/env bash
# Installs the Debian packages the tests need (PostgreSQL server, Chromium, a CJK font, pango for PDF letters,
# poppler-utils to read PDFs back, Java for the Spark KPI test) when missing. `--runtime` installs only what the
# app itself needs (make demo).
set -euo pipefail
needed=()
dpkg -s fonts-wqy-microhei >/dev/null 2>&1 || needed+=(fonts-wqy-microhei)
dpkg -s libpango-1.0-0 >/dev/null 2>&1 || needed+=(libpango-1.0-0)
dpkg -s libpangoft2-1.0-0 >/dev/null 2>&1 || needed+=(libpangoft2-1.0-0)
if [ "${1:-}" != "--runtime" ]; then
  command -v pg_ctlcluster >/dev/null 2>&1 && dpkg -s postgresql >/dev/null 2>&1 || needed+=(postgresql)
  [ -x /usr/bin/chromium ] || needed+=(chromium)
  command -v pdftotext >/dev/null 2>&1 || needed+=(poppler-utils)
  # tests/kpi/test_spark_engine.py runs Spark locally (PySpark 4 needs Java 17+).
  command -v java >/dev/null 2>&1 || needed+=(openjdk-17-jre-headless)
fi
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
