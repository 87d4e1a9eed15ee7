#!/usr/bin/env bash
# The measured comparison behind `appendfsync everysec` (operator/desired/redis-config.ts, README
# "Durability"): one redis-server with an append-only file per setting, XADD into 1,000 capped
# streams (the group log's write) by redis-benchmark with 50 clients, no pipelining. Prints
# redis-benchmark's CSV line per run: requests/s, then avg, min, p50, p95, p99, max latency (ms).
# Usage: hack/redis/appendfsync-bench.sh [rounds]   (needs redis-server and redis-benchmark)
set -euo pipefail
rounds=${1:-2}
port=${IMGROUP_FSYNC_BENCH_PORT:-17711}
body='hello world body of sixty-four bytes.............................'
for round in $(seq 1 "$rounds"); do
  for mode in no everysec always; do
    dir=$(mktemp -d "${TMPDIR:-/tmp}/imgroup-fsync-XXXXXX")
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly yes --appendfsync "$mode" \
      --dir "$dir" --daemonize yes --logfile "$dir/redis.log" --pidfile "$dir/redis.pid"
    for _ in $(seq 1 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
    line=$(redis-benchmark -p "$port" -n 50000 -c 50 -r 1000 -q --csv XADD 'log:__rand_int__' MAXLEN = 1000 '*' f user b "$body" | tail -1)
    echo "round=$round appendfsync=$mode ${line#*\",}"
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
    rm -rf "$dir"
  done
done
