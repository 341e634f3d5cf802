#!/bin/bash
# Runs Mark Nottingham's HTTP caching test suite (npm http-cache-tests,
# 0.4.5) against wfn's CDN cache: the suite's origin server behind
# testdata/httpcache's forwarding function, served at the root (its
# vercel.json rewrites /test/, /config/ and /state/ to the function under
# /api/, so that the origin's own paths, in Location and Content-Location,
# are the client's URLs), in one of three modes:
#   scripts/http-cache-tests.sh vercel|rfc|rfc9111 [OUT_DIR] [SUMMARY_FLAGS...]
# vercel: the origin's headers as they are; only what Vercel's CDN reads
#         (s-maxage, CDN-Cache-Control...) makes a response cacheable.
# rfc:    the origin's Cache-Control is mirrored into CDN-Cache-Control
#         (RFC 9213), so the cache applies it as a shared cache would.
# rfc9111: the origin's headers as they are, under wfn serve --cdn-rules
#         rfc9111: the cache reads Cache-Control's max-age and Expires as an
#         RFC 9111 shared cache.
# Writes OUT_DIR/MODE.json (the suite's results) and prints the summary
# (scripts/http-cache-tests-summary.mjs, given SUMMARY_FLAGS such as
# --max-failures=0: it fails when they are not met). Ports: HCT_ORIGIN_PORT (default
# 18700) and HCT_WFN_PORT (18701), on 127.0.0.1.
set -euo pipefail
mode=${1:?usage: $0 vercel|rfc|rfc9111 [OUT_DIR]}
case $mode in
  vercel) mirror=0 rules=vercel ;;
  rfc) mirror=1 rules=vercel ;;
  rfc9111) mirror=0 rules=rfc9111 ;;
  *) echo "mode: vercel, rfc or rfc9111" >&2; exit 2 ;;
esac
root=$(cd "$(dirname "$0")/.." && pwd)
out=${2:-$root/.http-cache-tests}
shift $(( $# < 2 ? $# : 2 ))
origin_port=${HCT_ORIGIN_PORT:-18700}
wfn_port=${HCT_WFN_PORT:-18701}
mkdir -p "$out"
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

suite=$out/suite/node_modules/http-cache-tests
if [ ! -f "$suite/package.json" ] || ! grep -q '"version": "0.4.5"' "$suite/package.json"; then
  (mkdir -p "$out/suite" && cd "$out/suite" && npm install --silent --no-audit --no-fund --no-save http-cache-tests@0.4.5 >/dev/null)
fi

(cd "$root" && go build -o "$work/wfn" ./cli/wfn)

(cd "$suite" && npm_config_protocol=http npm_config_port=$origin_port npm_config_pidfile="$work/origin.pid" \
  exec node server/server.mjs >"$work/origin.log" 2>&1) &
pids+=($!)
"$work/wfn" serve "$root/testdata/httpcache" --listen "127.0.0.1:$wfn_port" --cache-dir "$work/cache" --cdn-rules "$rules" \
  --env "ORIGIN_URL=http://127.0.0.1:$origin_port" --env "CDN_MIRROR=$mirror" >"$work/wfn.log" 2>&1 &
pids+=($!)

# Ready when a request reaches the origin through the function (the
# function is built when the server starts).
for i in $(seq 600); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$wfn_port/state/ready" || true)
  [ "$code" = 404 ] || [ "$code" = 200 ] && break
  if [ "$i" = 600 ]; then echo "wfn did not come up:"; cat "$work/wfn.log"; exit 1; fi
  sleep 0.5
done

(cd "$suite" && npm_config_base="http://127.0.0.1:$wfn_port" npm_package_config_id='' \
  node --no-warnings cli.mjs >"$out/$mode.json")
flag=""; [ "$mode" = vercel ] && flag=--vercel
node "$root/scripts/http-cache-tests-summary.mjs" $flag "$@" "$suite" "$out/$mode.json"
