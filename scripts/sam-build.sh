#!/usr/bin/env bash
# `sam build` of template.yaml (BuildMethod rust-cargolambda: cargo-lambda + zig cross-link for Lambda's
# provided.al2023), then checks every built `bootstrap`: an ELF for the architecture, no GLIBC symbol newer
# than 2.34 (AL2023's glibc), size.
#
#   scripts/sam-build.sh                       every function, Architecture=x86_64
#   scripts/sam-build.sh FanInFunction ...     only these logical ids
#   ARCH=arm64 scripts/sam-build.sh            --parameter-overrides Architecture=arm64 (aarch64 target)
#
# Installs when missing: SAM CLI (its own venv, lib.sh ensure_sam), cargo-lambda and ziglang (PyPI, the
# project venv). The release build uses its own target dir ($PORTCULLIS_CACHE/target-lambda; a cargo-lambda
# build of the whole set is ~30 min of 2 cores when cold). Exit 0 only if `sam build` succeeded and every
# bootstrap passed its checks.
source "$(dirname "$0")/lib.sh"
ROOT=$(repo_root)
MAX_GLIBC="2.34"
ARCH="${ARCH:-x86_64}"
case $ARCH in
  x86_64) elf_machine="X86-64" ;;
  arm64) elf_machine="AArch64" ;;
  *) echo "ARCH must be x86_64 or arm64, not $ARCH" >&2; exit 2 ;;
esac

ensure_apt binutils
ensure_sam
[[ -x $VENV/bin/python ]] || python3 -m venv "$VENV" >&2
"$VENV/bin/cargo-lambda" --version >/dev/null 2>&1 || { log "pip install cargo-lambda"; "$VENV/bin/pip" install -q cargo-lambda==1.9.2 >&2; }
# (cargo-lambda's PyPI package depends on ziglang: one install brings both)
"$VENV/bin/python" -m ziglang version >/dev/null 2>&1 || { echo "ziglang missing beside cargo-lambda in $VENV" >&2; exit 1; }
# cargo-lambda finds zig through the ziglang module of the python on PATH.
export PATH="$VENV/bin:$PATH"
export CARGO_TARGET_DIR="${SAM_CARGO_TARGET_DIR:-$PORTCULLIS_CACHE/target-lambda}"
# librdkafka 2.12's CMake build writes `#define WITH_OAUTHBEARER_OIDC 0` and then tests it with #ifdef, so
# rdkafka_conf.c includes <curl/curl.h> even without curl (we build it without: no OIDC, no curl symbol
# is referenced). A host build finds the header in /usr/include; zig's cross sysroot does not. Give the
# Lambda targets' C compiles a directory holding only the curl headers (Debian's libcurl4-openssl-dev).
ensure_apt libcurl4-openssl-dev
curl_h=$(find /usr/include -path '*/curl/curl.h' -print -quit)
[[ -n $curl_h ]] || { echo "no curl/curl.h under /usr/include" >&2; exit 1; }
curl_inc="$PORTCULLIS_CACHE/lambda-curl-include"
mkdir -p "$curl_inc/curl" && cp "$(dirname "$curl_h")"/*.h "$curl_inc/curl/"
export CFLAGS_x86_64_unknown_linux_gnu="-I$curl_inc" CFLAGS_aarch64_unknown_linux_gnu="-I$curl_inc"
export SAM_CLI_TELEMETRY=0
check_disk_space "$CARGO_TARGET_DIR" 8

cd "$ROOT"
t0=$SECONDS
log "sam build $* (Architecture=$ARCH, CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
"$SAM" build "$@" --parameter-overrides "Architecture=$ARCH" >&2
build_s=$((SECONDS - t0))

fail=0
printf '%-24s %-8s %10s %8s  %s\n' function arch size glibc check
for dir in .aws-sam/build/*/; do
  fn=$(basename "$dir")
  b="$dir/bootstrap"
  [[ -f $b ]] || continue
  machine=$(readelf -h "$b" | awk -F: '/Machine:/ {gsub(/^ +/, "", $2); print $2}')
  need=$( (objdump -T "$b" 2>/dev/null || true) | grep -oE 'GLIBC_[0-9]+\.[0-9]+' | sort -uV | tail -n 1 | cut -d_ -f2 || true)
  size=$(du -m "$b" | cut -f1)
  verdict=ok
  if [[ $machine != *"$elf_machine"* ]]; then
    verdict="not a $elf_machine ELF ($machine)"
  elif [[ -z $need ]]; then
    need="static"
  elif [[ $(printf '%s\n%s\n' "$need" "$MAX_GLIBC" | sort -V | tail -n 1) != "$MAX_GLIBC" ]]; then
    verdict="needs GLIBC $need > $MAX_GLIBC"
  fi
  [[ $verdict == ok ]] || fail=1
  printf '%-24s %-8s %8s MB %8s  %s\n' "$fn" "$ARCH" "$size" "$need" "$verdict"
done
echo "sam build: ${build_s} s"
exit "$fail"
