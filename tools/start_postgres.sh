#!/usr/bin/env bash
# Starts the machine's PostgreSQL cluster for the tests when it is installed but not running.
# Prints one line either way; never fails the build (tests that need PostgreSQL skip, saying why).
set -uo pipefail
if ! command -v pg_lsclusters >/dev/null 2>&1; then
  echo "postgres: no PostgreSQL cluster tools here; the PostgreSQL tests will be skipped (see their reason)"
  exit 0
fi
if pg_lsclusters --no-header 2>/dev/null | grep -q online; then
  echo "postgres: running"
  exit 0
fi
version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)
if [ -n "$version" ] && pg_ctlcluster --skip-systemctl-redirect "$version" main start; then
  echo "postgres: started cluster $version/main"
else
  echo "postgres: could not start a cluster; the PostgreSQL tests will be skipped (see their reason)"
fi
exit 0
