#!/usr/bin/env bash
# `npm test`: every test, against a real S3-compatible server (Ceph RGW on loopback).
# - installs the npm dependencies if they are missing;
# - uses the server named by S3_ENDPOINT/S3_ACCESS_KEY/S3_SECRET_KEY if set, else starts Ceph RGW
#   (installing its Debian packages if missing) and stops it afterwards if this run started it;
# - fails, saying why, if the server cannot start: tests that need it never skip.
# Extra arguments go to `bun test` (a file or a name filter).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x node_modules/.bin/bun ]; then
  echo "installing npm dependencies..." >&2
  npm ci --no-audit --no-fund >&2
fi

if [ -z "${S3_ENDPOINT:-}" ]; then
  export CEPH_DIR=${CEPH_DIR:-/tmp/s3-bun-cached-fs-ceph}
  started=
  if ! { [ -f "$CEPH_DIR/run/aio.pid" ] && kill -0 "$(cat "$CEPH_DIR/run/aio.pid")" 2>/dev/null; }; then
    started=1
    # A cluster this run starts is this run's alone: begin from nothing, so the data of earlier
    # runs (every test makes buckets of its own) can never fill the OSD, which would stall writes.
    rm -rf "$CEPH_DIR"
  fi
  if ! assignments=$(bash scripts/start-s3.sh); then
    echo "npm test: the S3 server (Ceph RGW) could not be started; see the log above and $CEPH_DIR/log." >&2
    echo "npm test: tests that need it are not skipped; set S3_ENDPOINT, S3_ACCESS_KEY and S3_SECRET_KEY to use another server." >&2
    exit 1
  fi
  eval "$assignments"
  export S3_ENDPOINT S3_ACCESS_KEY S3_SECRET_KEY S3_REGION
  if [ -n "$started" ]; then trap 'bash scripts/ceph-aio.sh stop; rm -rf "$CEPH_DIR"' EXIT; fi
fi

# Bun 1.4 ignores a timeout set in bunfig.toml, so it is given here: real-server and multi-process
# tests take longer than the 5 s default.
node_modules/.bin/bun test --timeout 120000 "$@"
