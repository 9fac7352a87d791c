#!/usr/bin/env bash
# Benchmarks the secrets/regex tool against trivy's secret scanner on the same large inputs, in one run:
#   1. a real node_modules tree (npm install of a few big packages), 2. an image-like rootfs (python stdlib,
#   /usr/share docs, perl, vim, cmake files).
# Portcullis scans an uncompressed tar of each tree (through its archive reader); trivy scans the unpacked
# directory (it does not open tars). The rootfs is placed under `img/` so trivy's built-in allow rules for
# `^usr/(share|include|lib)/` do not silently skip it: both tools read the same bytes.
# Prints MB/s, findings, peak RSS for each tool and the speed ratio. Not a test: numbers go to BENCHMARKS.md.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-secrets}
WORK=${BENCH_DIR:-/tmp/portcullis-bench-secrets}
NM_SRC=${BENCH_NODE_MODULES:-}
mkdir -p "$WORK"
TRIVY_BIN=$(bash /work/shared/tools/install-peers.sh | tail -1)/trivy
[ -x "$TRIVY_BIN" ] || { echo "trivy not found at $TRIVY_BIN" >&2; exit 1; }

# --- inputs ------------------------------------------------------------------------------------------------
if [ -z "$NM_SRC" ]; then
  NM_SRC=$WORK/nm
  if [ ! -d "$NM_SRC/node_modules" ]; then
    mkdir -p "$NM_SRC"
    (cd "$NM_SRC" && npm init -y >/dev/null && npm install --no-audit --no-fund --ignore-scripts \
      typescript lodash aws-sdk webpack eslint @babel/core jsonwebtoken node-forge >/dev/null)
  fi
fi
[ -f "$WORK/node_modules.tar" ] || tar cf "$WORK/node_modules.tar" -C "$NM_SRC" node_modules
if [ ! -d "$WORK/rootfs/img/usr" ]; then
  mkdir -p "$WORK/rootfs/img"
  (cd / && tar cf - usr/lib/python3 usr/lib/python3.11 usr/share/doc usr/share/perl usr/share/vim usr/share/cmake-3.25 2>/dev/null) \
    | tar xf - -C "$WORK/rootfs/img"
fi
[ -f "$WORK/rootfs.tar" ] || tar cf "$WORK/rootfs.tar" -C "$WORK/rootfs" img

# --- build -------------------------------------------------------------------------------------------------
(cd "$ROOT" && cargo build --release -q -p portcullis-secrets --example bench_secrets)
OURS=$CARGO_TARGET_DIR/release/examples/bench_secrets

run() { # name tar dir
  local name=$1 tarball=$2 dir=$3
  tar cf - "$dir" 2>/dev/null | cat >/dev/null; cat "$tarball" >/dev/null   # warm the page cache for both
  /usr/bin/time -f '%e %M' -o "$WORK/$name.ours.time" "$OURS" "$tarball" >"$WORK/$name.ours.json"
  /usr/bin/time -f '%e %M' -o "$WORK/$name.trivy.time" "$TRIVY_BIN" fs --quiet --scanners secret \
    --skip-db-update --skip-java-db-update --offline-scan --cache-dir "$WORK/trivy-cache" \
    --format json -o "$WORK/$name.trivy.json" "$dir"
  python3 - "$WORK" "$name" "$tarball" "$dir" <<'PY'
import json, sys, os
work, name, tarball, d = sys.argv[1:]
ours = json.load(open(f"{work}/{name}.ours.json"))
trivy = json.load(open(f"{work}/{name}.trivy.json"))
o_t, o_rss = open(f"{work}/{name}.ours.time").read().split()
t_t, t_rss = open(f"{work}/{name}.trivy.time").read().split()
size = os.path.getsize(tarball)
t_find = sum(len(r.get("Secrets") or []) for r in trivy.get("Results") or [])
t_files = sum(1 for r in trivy.get("Results") or [] if r.get("Secrets"))
rules = {}
for r in trivy.get("Results") or []:
    for s in r.get("Secrets") or []:
        rules[s["RuleID"]] = rules.get(s["RuleID"], 0) + 1
o_mbs = size / 1e6 / float(o_t); t_mbs = size / 1e6 / float(t_t)
print(f"## {name}: {size/1e6:.0f} MB, {ours['entries']} entries")
print(f"| tool | wall s | MB/s | findings | files with findings | peak RSS MiB |")
print(f"|---|---|---|---|---|---|")
print(f"| portcullis secrets/regex | {float(o_t):.2f} | {o_mbs:.1f} | {ours['findings']} | {ours['files_with_findings']} | {int(o_rss)/1024:.0f} |")
print(f"| trivy {name} | {float(t_t):.2f} | {t_mbs:.1f} | {t_find} | {t_files} | {int(t_rss)/1024:.0f} |")
print(f"speed ratio (portcullis / trivy): {o_mbs/t_mbs:.1f}x")
print(f"portcullis per rule: {ours['per_rule']}")
print(f"trivy per rule: {rules}")
PY
}
run node_modules "$WORK/node_modules.tar" "$NM_SRC/node_modules"
run rootfs "$WORK/rootfs.tar" "$WORK/rootfs"
