#!/usr/bin/env bash
# Builds wfn's JavaScript runtime, host/internal/jsruntime/wfnjs.wasm: QuickJS
# (Debian's source package quickjs 2025.04.26-1, from trixie) with our patches
# (quickjs-wasi.patch; quickjs-shapes.patch, for speed), the C glue over the wfn ABI (wfnjs.c, vercel.c, headers.c, fetch.c) and the JS
# prelude (prelude.js and prelude/*.js, bundled with the pinned npm packages of
# package-lock.json, and compiled to QuickJS bytecode by wfnjsc.c, with the
# bundles it loads on first use), as a
# wasm32-wasi reactor.
#
#   guests/sdk/js/runtime/build.sh           build and replace the committed module
#   guests/sdk/js/runtime/build.sh --check   build and fail if it differs from it
#   guests/sdk/js/runtime/build.sh --out F   build into F
#
# Needs: Go, npm, apt-get and dpkg-source (dpkg-dev), and Debian's clang,
# lld, wasi-libc and libclang-rt-dev-wasm32. The QuickJS source is fetched
# with apt-get source through a private apt configuration (nothing under
# /etc/apt is changed) holding one deb-src line for trixie, on the Debian
# mirror this machine's apt is configured with. WFN_DEBIAN_MIRROR overrides
# that mirror; WFN_QUICKJS_SRC names an unpacked, unpatched source tree to
# use instead of fetching one.
#
# The build is reproducible: it runs in a fresh temporary directory, and the
# module holds no path, date or build id, so two builds are byte-identical.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
committed="$root/host/internal/jsruntime/wfnjs.wasm"

version=2025.04.26-1
orig=quickjs_2025.04.26.orig.tar.xz
orig_sha256=ec81da5b3249ed648dbc7df4a1654988910e66a118d9b71cb63534216efcfbbe

mode=write
out="$committed"
case "${1:-}" in
  --check) mode=check ;;
  --out) out="$(realpath -m "$2")" ;;
  "") ;;
  *) echo "usage: $0 [--check | --out FILE]" >&2; exit 2 ;;
esac

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# debian_mirror prints the URI of the machine's configured Debian archive:
# the first deb source, in one-line (sources.list) or deb822 (.sources)
# form, whose suite is the release's own codename (not -security and such).
debian_mirror() {
  if [ -n "${WFN_DEBIAN_MIRROR:-}" ]; then echo "$WFN_DEBIAN_MIRROR"; return; fi
  local codename uri f
  codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
  uri="$(
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [ -f "$f" ] || continue
      awk -v c="$codename" '$1 == "deb" {
          i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
          if ($(i+1) == c) print $i
        }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -f "$f" ] || continue
      awk -v c="$codename" '
        function flush() { if (deb && uri != "" && (" " suites " ") ~ (" " c " ")) print uri; deb = 0; uri = ""; suites = "" }
        /^[ \t]*$/ { flush(); next }
        /^Types:/ { deb = ($0 ~ /[: ]deb( |$)/) }
        /^URIs:/ { uri = $2 }
        /^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites = $0 }
        END { flush() }' "$f"
    done | sed -n 1p
  )"
  if [ -z "$uri" ]; then
    echo "build.sh: no Debian archive for release '$codename' in /etc/apt; set WFN_DEBIAN_MIRROR" >&2
    return 1
  fi
  echo "$uri"
}

# fetch_quickjs unpacks Debian's quickjs source package into $work/quickjs.
fetch_quickjs() {
  if [ -n "${WFN_QUICKJS_SRC:-}" ]; then
    cp -r "$WFN_QUICKJS_SRC" "$work/quickjs"
    return
  fi
  local mirror apt
  mirror="$(debian_mirror)"
  apt="$work/apt"
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$work/src"
  echo "deb-src $mirror trixie main" >"$apt/sources.list"
  local opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=$apt/none"
    -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o "APT::Sandbox::User=$(id -un)")
  apt-get "${opts[@]}" -qq update
  (cd "$work/src" && apt-get "${opts[@]}" -qq source "quickjs=$version" >/dev/null)
  echo "$orig_sha256  $work/src/$orig" | sha256sum -c --quiet
  mv "$work/src/quickjs-2025.04.26" "$work/quickjs"
}

# The npm packages the prelude imports, installed while QuickJS is fetched.
cp "$here/package.json" "$here/package-lock.json" "$work/"
(cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null) &
npm_pid=$!

fetch_quickjs
(cd "$work/quickjs" && patch -s -p1 <"$here/quickjs-wasi.patch" && patch -s -p1 <"$here/quickjs-shapes.patch")

sysroot="${WASI_SYSROOT:-/usr}"
# -Os: 826 KB where -O2 gives 1,012 KB and -Oz 741 KB; a warm invocation
# costs about the same CPU time with each under wazero (BENCHMARKS.md).
cflags=(--target=wasm32-wasi "--sysroot=$sysroot" -Os -fwrapv -D_GNU_SOURCE
  '-DCONFIG_VERSION="2025-04-26"' "-ffile-prefix-map=$work/=" "-ffile-prefix-map=$root/=")
objs=() pids=()
for f in quickjs libregexp libunicode cutils dtoa; do
  clang "${cflags[@]}" -Wno-everything -c "$work/quickjs/$f.c" -o "$work/$f.o" &
  objs+=("$work/$f.o") pids+=($!)
done
for f in vercel headers fetch; do
  clang "${cflags[@]}" -Wall -Werror -Wno-unused-parameter -I "$work/quickjs" -I "$root/guests/sdk/c" \
    -c "$here/$f.c" -o "$work/$f.o"
done
clang "${cflags[@]}" -Wall -Werror -I "$work/quickjs" -c "$here/wfnjsc.c" -o "$work/wfnjsc.o"
for p in "${pids[@]}"; do wait "$p"; done

# The prelude compiler (wfnjsc.c), a WASI command over the same QuickJS
# objects as the runtime: bytecode holds the engine's own atom numbers.
clang --target=wasm32-wasi "--sysroot=$sysroot" -Wl,-z,stack-size=1048576 -Wl,--stack-first -Wl,--strip-debug \
  -o "$work/wfnjsc.wasm" "$work/wfnjsc.o" "${objs[@]}" -lm

# The prelude, with the npm packages it imports, compiled to bytecode as a
# C header, with the bundles it loads on first use (prelude/shared.js):
# URLPattern, CompressionStream and DecompressionStream, crypto.subtle and
# CryptoKey.
wait "$npm_pid"
cp -r "$here/prelude.js" "$here/prelude" "$work/" # the prelude and its own modules
lazy=(urlpattern.js compression.js subtle.js)
(cd "$root" && go run ./guests/sdk/js/runtime/mkprelude "$work/prelude.js" "$work/node_modules" "$work/wfnjsc.wasm" "$work/prelude.h" \
  "${lazy[@]/#/$work/prelude/}")

# A reactor (exports _initialize, no _start) with a 512 KiB stack placed
# before the data, so that an overflow traps instead of corrupting the
# heap; wfnjs.c bounds QuickJS's recursion below it (WFNJS_STACK).
stack=524288
clang "${cflags[@]}" -Wall -Werror -Wno-unused-parameter -I "$work/quickjs" -I "$work" -I "$root/guests/sdk/c" \
  "-DWFNJS_STACK=$stack" -c "$here/wfnjs.c" -o "$work/wfnjs.o"
clang --target=wasm32-wasi "--sysroot=$sysroot" -mexec-model=reactor \
  -Wl,-z,stack-size=$stack -Wl,--stack-first -Wl,--strip-debug \
  -o "$work/wfnjs.wasm" "$work/wfnjs.o" "$work/vercel.o" "$work/headers.o" "$work/fetch.o" "${objs[@]}" -lm

size=$(stat -c %s "$work/wfnjs.wasm")
if [ "$mode" = check ]; then
  if ! cmp -s "$work/wfnjs.wasm" "$committed"; then
    echo "build.sh: the rebuilt runtime ($size bytes) differs from $committed ($(stat -c %s "$committed") bytes): run $0 and commit the result" >&2
    exit 1
  fi
  echo "build.sh: the rebuilt runtime matches $committed ($size bytes)"
else
  mkdir -p "$(dirname "$out")"
  cp "$work/wfnjs.wasm" "$out"
  echo "build.sh: wrote $out ($size bytes)"
fi
