#!/bin/bash
# Compare fresh-instance and instantiation benchmarks at a base commit and
# at the working tree, alternating, ROUNDS times (default 3):
#   scripts/bench-before-after.sh BASE [ROUNDS]
# The base is checked out in a temporary worktree, removed at the end.
set -euo pipefail
base=${1:?usage: $0 BASE [ROUNDS]}
rounds=${2:-3}
root=$(git rev-parse --show-toplevel)
before=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$before" >/dev/null 2>&1 || true' EXIT
git -C "$root" worktree add --detach -f "$before" "$base" >/dev/null
for i in $(seq "$rounds"); do
  for side in before after; do
    dir=$before
    [ "$side" = after ] && dir=$root
    (cd "$dir" && go test -run '^$' -bench FreshInstance -benchtime 300x ./host/ | grep '^Benchmark' | sed "s/^/$side /")
    (cd "$dir" && go test -run '^$' -bench Instantiate -benchtime 100x ./host/internal/wazeroengine/ | grep '^Benchmark' | sed "s/^/$side /")
  done
done
