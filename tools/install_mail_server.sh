#!/usr/bin/env bash
# Installs Dovecot's IMAP server, which the mail tests start privately (their own config, port and folder; the
# system's Dovecot service is never configured or used by them). Safe to run again; skips when not root or
# without apt-get, saying so, and never fails the setup. Usage: bash tools/install_mail_server.sh
set -uo pipefail

if command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "setup: Dovecot (IMAP) is not installed and this is not root; the IMAP tests will be skipped." \
       "Install it with: sudo bash tools/install_mail_server.sh" >&2
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup: Dovecot (IMAP) is not installed and apt-get is missing; the IMAP tests will be skipped." \
       "Install Dovecot's IMAP server with this system's package manager." >&2
  exit 0
fi
echo "setup: installing Dovecot (IMAP server for the mail tests) with apt-get"
export DEBIAN_FRONTEND=noninteractive
if apt-get install -y -qq dovecot-imapd >/dev/null 2>&1 \
   || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq dovecot-imapd >/dev/null 2>&1; }; then
  echo "setup: Dovecot installed"
else
  echo "setup: could not install Dovecot with apt-get; the IMAP tests will be skipped." \
       "Try: sudo apt-get update && sudo apt-get install dovecot-imapd" >&2
fi
