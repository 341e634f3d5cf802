#!/usr/bin/env bash
# The warm TypeScript hello on wfn against Cloudflare's workerd (the same
# handler as an ES module worker, one process) and against a native Go
# net/http handler, all on 127.0.0.1, loaded by wrk with 32 connections.
# Each round runs every server once, in turn, for the same time; the
# medians of the rounds and their ratios are printed (issue 13: at least
# 2x workerd's requests per second), and each server's CPU time per
# request (user and system, from /proc), which a shared machine's load
# moves less than requests per second.
#
#   scripts/bench-js-workerd.sh [ROUNDS] [SECONDS]   (default 5 rounds of 4 s)
#
# WFN_BEFORE=PATH adds a wfn binary built elsewhere (an earlier commit) as
# "wfn-before", serving the same function, for before/after figures.
#
# Needs wrk (Debian package wrk) and workerd: $WORKERD, else workerd on
# the PATH, else the binary of the npm package @cloudflare/workerd-linux-64
# under $WORKERD_PREFIX (for instance after
# `npm install --prefix /tmp/workerd @cloudflare/workerd-linux-64`). Skips
# with a message naming what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
secs=${2:-4}

if ! command -v wrk >/dev/null; then
  echo "bench-js-workerd: skipped: wrk is not installed (apt-get install wrk)"
  exit 0
fi
workerd=${WORKERD:-$(command -v workerd || true)}
if [ -z "$workerd" ] && [ -n "${WORKERD_PREFIX:-}" ]; then
  workerd="$WORKERD_PREFIX/node_modules/@cloudflare/workerd-linux-64/bin/workerd"
fi
if [ -z "$workerd" ] || [ ! -x "$workerd" ]; then
  echo "bench-js-workerd: skipped: workerd not found (set WORKERD, or WORKERD_PREFIX after npm install --prefix DIR @cloudflare/workerd-linux-64)"
  exit 0
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

body='Hello from wfn!'
# The same handler everywhere: 200, text/plain; charset=utf-8, 15 bytes.
mkdir -p "$work/site/api" "$work/native" "$work/workerd"
cat >"$work/site/api/hello.ts" <<EOF
export function GET(request: Request) {
  return new Response("$body", { headers: { "content-type": "text/plain; charset=utf-8" } });
}
EOF
cat >"$work/workerd/worker.js" <<EOF
export default {
  fetch(request) {
    return new Response("$body", { headers: { "content-type": "text/plain; charset=utf-8" } });
  },
};
EOF
cat >"$work/workerd/config.capnp" <<'EOF'
using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .worker)],
  sockets = [(name = "http", address = "127.0.0.1:18402", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [(name = "worker", esModule = embed "worker.js")],
  compatibilityDate = "2024-09-23",
);
EOF
cat >"$work/native/main.go" <<EOF
package main

import (
	"io"
	"net/http"
)

func main() {
	http.ListenAndServe("127.0.0.1:18401", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "$body")
	}))
}
EOF
(cd "$work/native" && go mod init native >/dev/null 2>&1 && go build -o native .)
go build -o "$work/wfn" ./cli/wfn

declare -A pid
"$work/native/native" & pids+=($!) && pid[native]=$!
"$workerd" serve "$work/workerd/config.capnp" >"$work/workerd.log" 2>&1 & pids+=($!) && pid[workerd]=$!
"$work/wfn" serve "$work/site" --listen 127.0.0.1:18403 --log-level error >"$work/wfn.log" 2>&1 & pids+=($!) && pid[wfn-ts]=$!
order=(native workerd wfn-ts)
if [ -n "${WFN_BEFORE:-}" ]; then
  mkdir -p "$work/before" && cp -r "$work/site/api" "$work/before/"
  "$WFN_BEFORE" serve "$work/before" --listen 127.0.0.1:18404 --log-level error >"$work/before.log" 2>&1 & pids+=($!) && pid[wfn-before]=$!
  order+=(wfn-before)
fi

declare -A url=(
  [native]=http://127.0.0.1:18401/api/hello
  [workerd]=http://127.0.0.1:18402/api/hello
  [wfn-ts]=http://127.0.0.1:18403/api/hello
  [wfn-before]=http://127.0.0.1:18404/api/hello
)
for s in "${order[@]}"; do
  for _ in $(seq 300); do
    [ "$(curl -s "${url[$s]}" 2>/dev/null)" = "$body" ] && break
    sleep 0.1
  done
  if [ "$(curl -s "${url[$s]}")" != "$body" ]; then
    echo "bench-js-workerd: $s does not answer the hello at ${url[$s]}" >&2
    cat "$work"/*.log >&2
    exit 1
  fi
  wrk -t1 -c32 -d1s "${url[$s]}" >/dev/null # warm up
done

echo "wrk -t1 -c32 -d${secs}s, $rounds interleaved rounds, $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
# cpu_ticks prints the CPU time (user and system, in clock ticks) that
# process $1 and its threads have used.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
tick_us=$((1000000 / $(getconf CLK_TCK)))
declare -A all cpu
for r in $(seq "$rounds"); do
  line="round $r:"
  for s in "${order[@]}"; do
    t0=$(cpu_ticks "${pid[$s]}")
    out=$(wrk -t1 -c32 -d"${secs}s" "${url[$s]}")
    t1=$(cpu_ticks "${pid[$s]}")
    if grep -q 'Non-2xx\|Socket errors' <<<"$out"; then
      echo "bench-js-workerd: $s answered errors:" >&2
      echo "$out" >&2
      exit 1
    fi
    rps=$(awk '/^Requests\/sec/ { printf "%.0f", $2 }' <<<"$out")
    all[$s]="${all[$s]:-} $rps"
    n=$(awk '/requests in/ { print $1 }' <<<"$out")
    cpu[$s]="${cpu[$s]:-} $(awk -v t=$((t1 - t0)) -v u="$tick_us" -v n="$n" 'BEGIN { printf "%.1f", t * u / n }')"
    line="$line $s $rps"
  done
  echo "$line"
done
median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
declare -A med
for s in "${order[@]}"; do
  med[$s]=$(median "${all[$s]}")
  printf '%-10s req/s median %8.0f  (%s )  CPU µs/request median %s  (%s )\n' "$s" "${med[$s]}" "${all[$s]}" "$(median "${cpu[$s]}")" "${cpu[$s]}"
done
awk -v t="${med[wfn-ts]}" -v w="${med[workerd]}" -v n="${med[native]}" \
  'BEGIN { printf "wfn-ts / workerd %.2fx (target at least 2x); wfn-ts / native %.2fx; workerd / native %.2fx\n", t / w, t / n, w / n }'
