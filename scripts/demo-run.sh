#!/usr/bin/env bash
# `make demo`'s last step: the web app and the worker (`claimwatch run`) on the demo database, with a real SMTP
# server on loopback (aiosmtpd, kept in the Maildir demo-mail/) so e-mails to claimants and staff are delivered
# and can be read, instead of failing for want of a mail server. Ctrl-C stops all of it.
set -euo pipefail
cd "$(dirname "$0")/.."
DB=${1:?usage: scripts/demo-run.sh DEMO_DB}
PORT=${DEMO_PORT:-8000}
MAIL_PORT=${DEMO_SMTP_PORT:-8025}
.venv/bin/python -m aiosmtpd -n -l "127.0.0.1:${MAIL_PORT}" -c aiosmtpd.handlers.Mailbox demo-mail &
smtp=$!
trap 'kill "$smtp" 2>/dev/null || true' EXIT
export CLAIMWATCH_DATABASE_URL="sqlite:///${DB}" CLAIMWATCH_SMTP_HOST=127.0.0.1 CLAIMWATCH_SMTP_PORT="${MAIL_PORT}"
echo "e-mails are delivered to the SMTP server on 127.0.0.1:${MAIL_PORT} and kept in demo-mail/ (a Maildir)"
.venv/bin/claimwatch run --host 127.0.0.1 --port "${PORT}"
