#!/usr/bin/env bash
# Make sure a real S3 server (Ceph radosgw 16, single node, 127.0.0.1 only) is running.
# Idempotent: installs the Debian packages only if missing, reuses a running instance, waits until S3 answers.
# Prints shell assignments on stdout, e.g.  eval "$(bash scripts/start-s3.sh)"
#   S3_ENDPOINT=http://127.0.0.1:PORT S3_ACCESS_KEY=... S3_SECRET_KEY=... S3_REGION=us-east-1 S3_PORT=PORT
# Stop with: CEPH_DIR=... bash ceph-aio.sh stop
# Env: CEPH_DIR (default /tmp/ceph-aio), RGW_PORT (default: a free port), S3_ACCESS_KEY/S3_SECRET_KEY.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
AIO=${CEPH_AIO:-$HERE/ceph-aio.sh}
export CEPH_DIR=${CEPH_DIR:-/tmp/ceph-aio}
export S3_ACCESS_KEY=${S3_ACCESS_KEY:-testaccess} S3_SECRET_KEY=${S3_SECRET_KEY:-testsecret}

missing=
for b in radosgw radosgw-admin ceph ceph-mon ceph-osd ceph-authtool monmaptool curl; do command -v "$b" >/dev/null || missing=1; done
if [ -n "$missing" ]; then
  echo "installing ceph packages (radosgw ceph-mon ceph-osd ceph-common curl)..." >&2
  export DEBIAN_FRONTEND=noninteractive
  SUDO=; [ "$(id -u)" = 0 ] || SUDO="sudo -E"
  $SUDO apt-get update -qq >&2
  $SUDO apt-get install -y -qq --no-install-recommends radosgw ceph-mon ceph-osd ceph-common curl >&2
fi

t0=$(date +%s)
PORT=$(bash "$AIO" start)
echo "ceph radosgw ready on 127.0.0.1:$PORT after $(( $(date +%s) - t0 ))s (data in $CEPH_DIR)" >&2
echo "S3_ENDPOINT=http://127.0.0.1:$PORT"
echo "S3_PORT=$PORT"
echo "S3_ACCESS_KEY=$S3_ACCESS_KEY"
echo "S3_SECRET_KEY=$S3_SECRET_KEY"
echo "S3_REGION=us-east-1"
