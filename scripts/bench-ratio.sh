#!/usr/bin/env bash
# Interleaved benchmark rounds: each round runs the baseline and the
# candidates from one compiled test binary, so that drift on a shared
# machine hits all of them alike. Prints per-round figures and medians.
#
#   scripts/bench-ratio.sh serve [ROUNDS]       # req/s: native vs the guests
#   scripts/bench-ratio.sh interrupt [ROUNDS]   # ms/op: interruption on vs off
#   scripts/bench-ratio.sh stack [ROUNDS]       # ms/op: stack counting on vs off
set -euo pipefail
# median of a space-separated list, in any awk (no asort).
MEDIAN='function median(s,   a, n, i, j, t) { n = split(s, a, " ");
  for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
  return (n % 2) ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2 }'

cd "$(dirname "$0")/.."
what=${1:-serve}
rounds=${2:-6}
bin=$(mktemp -d)/bench.test
case "$what" in
serve)
  go test -c -o "$bin" ./host
  (cd host && for _ in $(seq "$rounds"); do
    "$bin" -test.run '^$' -test.bench '^(BenchmarkServeNative|BenchmarkServeWasm|BenchmarkServeWasmMinimal)$' -test.count 1 | grep '^Benchmark'
  done) | awk "$MEDIAN"'{ for (i = 1; i <= NF; i++) if ($i == "req/s") v[$1] = v[$1] " " $(i-1) }
    END { for (k in v) { m = median(v[k]);
      printf "%-32s req/s:%s  median %.0f\n", k, v[k], m; med[k] = m }
      b = med["BenchmarkServeNative-2"]; if (b) for (k in med) printf "%-32s %.2fx native\n", k, med[k] / b }'
  ;;
interrupt|stack)
  bench=Interruption
  [ "$what" = stack ] && bench=StackLimit
  go test -c -o "$bin" ./host/internal/wazeroengine
  (cd host/internal/wazeroengine && for _ in $(seq "$rounds"); do
    "$bin" -test.run '^$' -test.bench "$bench" -test.benchtime 3x | grep '^Benchmark'
  done) | awk "$MEDIAN"'{ v[$1] = v[$1] " " $3 / 1e6 }
    END { for (k in v) { m = median(v[k]);
      printf "%-52s ms/op:%s  median %.1f\n", k, v[k], m } }'
  ;;
*) echo "usage: $0 serve|interrupt|stack [ROUNDS]" >&2; exit 2 ;;
esac
