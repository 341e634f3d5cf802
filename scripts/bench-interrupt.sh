#!/usr/bin/env bash
# Cheap interruption (issue 16), measured in interleaved rounds on one
# machine, CPU time per call (it moves less than wall time when the
# machine is shared):
#   - the compute guests (testdata/wat/compute.wat, Go SHA-256 over 8 MiB)
#     with the interrupt checks (the default), with wazero's own check
#     (Options.CloseOnContextDone, the default before) and with none;
#   - the JavaScript runtime's warm call as served, built at BEFORE and now.
#
#   scripts/bench-interrupt.sh BEFORE [ROUNDS]
set -euo pipefail
# median of a space-separated list, in any awk (no asort).
MEDIAN='function median(s,   a, n, i, j, t) { n = split(s, a, " ");
  for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
  return (n % 2) ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2 }'

cd "$(dirname "$0")/.."
before=${1:?usage: $0 BEFORE [ROUNDS]}
rounds=${2:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/src"
git archive "$before" | tar -x -C "$tmp/src"
(cd "$tmp/src" && go test -c -o "$tmp/before.test" ./host/internal/wazeroengine)
go test -c -o "$tmp/after.test" ./host/internal/wazeroengine
cd host/internal/wazeroengine
for _ in $(seq "$rounds"); do
  "$tmp/after.test" -test.run '^$' -test.bench 'Interruption' -test.benchtime 3x | grep '^Benchmark'
  "$tmp/before.test" -test.run '^$' -test.bench 'JSInvoke/served' -test.benchtime 300x | grep '^Benchmark' | sed 's/^/before:/'
  "$tmp/after.test" -test.run '^$' -test.bench 'JSInvoke/served' -test.benchtime 300x | grep '^Benchmark' | sed 's/^/after:/'
done | tee /dev/stderr | awk "$MEDIAN"'{ for (i = 1; i <= NF; i++) if ($i == "cpu-ns/op") v[$1] = v[$1] " " $(i-1) / 1e3 }
  END { for (k in v) { m = median(v[k]); med[k] = m
      printf "%-56s cpu-us/op:%s  median %.1f\n", k, v[k], m }
    for (k in med) if (k ~ /interrupt-on/) { off = k; sub(/interrupt-on/, "interrupt-off", off); w = k; sub(/interrupt-on/, "interrupt-wazero", w)
      printf "%-56s on/off %.2fx  wazero/off %.2fx\n", k, med[k] / med[off], med[w] / med[off] } }'
