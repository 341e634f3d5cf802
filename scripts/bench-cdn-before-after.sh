#!/bin/bash
# Compare the CDN cache's benchmarks (a HIT, a pass through a key that is
# not cacheable, the origin alone) at a base commit and at the working
# tree, alternating, ROUNDS times (default 5):
#   scripts/bench-cdn-before-after.sh BASE [ROUNDS]
# Each side's test binary is built once; the base is checked out in a
# temporary worktree, removed at the end. Prints one line per run:
#   before|after BenchmarkName ns/op B/op allocs/op
set -euo pipefail
base=${1:?usage: $0 BASE [ROUNDS]}
rounds=${2:-5}
root=$(git rev-parse --show-toplevel)
before=$(mktemp -d)
bins=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$before" >/dev/null 2>&1 || true; rm -rf "$bins"' EXIT
git -C "$root" worktree add --detach -f "$before" "$base" >/dev/null
(cd "$before" && go test -c -o "$bins/before" ./host/internal/cdn/)
(cd "$root" && go test -c -o "$bins/after" ./host/internal/cdn/)
for i in $(seq "$rounds"); do
  for side in before after; do
    "$bins/$side" -test.run '^$' -test.bench '^Benchmark(Hit|MissOrigin|OriginDirect)$' -test.benchmem -test.benchtime 20000x |
      awk -v side="$side" '/^Benchmark/ {print side, $1, $3, $5, $7}'
  done
done
