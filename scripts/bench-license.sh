#!/usr/bin/env bash
# Benchmarks the license/spdx tool against `trivy fs --scanners license --license-full` on the same
# node_modules tree (Portcullis reads an uncompressed tar of it; trivy reads the directory). Prints wall time,
# peak RSS and licences found by each. Not a test: numbers go to BENCHMARKS.md ("Licences").
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-secrets}
WORK=${BENCH_DIR:-/tmp/portcullis-bench-secrets}
NM_SRC=${BENCH_NODE_MODULES:-$WORK/nm}
mkdir -p "$WORK"
TRIVY_BIN=$(bash /work/shared/tools/install-peers.sh | tail -1)/trivy
if [ ! -d "$NM_SRC/node_modules" ]; then
  mkdir -p "$NM_SRC"
  (cd "$NM_SRC" && npm init -y >/dev/null && npm install --no-audit --no-fund --ignore-scripts \
    typescript lodash aws-sdk webpack eslint @babel/core jsonwebtoken node-forge >/dev/null)
fi
[ -f "$WORK/node_modules.tar" ] || tar cf "$WORK/node_modules.tar" -C "$NM_SRC" node_modules
(cd "$ROOT" && cargo build --release -q -p portcullis-license --example bench_license)
OURS=$CARGO_TARGET_DIR/release/examples/bench_license
tar cf - -C "$NM_SRC" node_modules | cat >/dev/null
/usr/bin/time -f '%e %M' -o "$WORK/lic.ours.time" "$OURS" "$WORK/node_modules.tar" >"$WORK/lic.ours.json"
/usr/bin/time -f '%e %M' -o "$WORK/lic.trivy.time" "$TRIVY_BIN" fs --quiet --scanners license --license-full \
  --skip-db-update --skip-java-db-update --offline-scan --cache-dir "$WORK/trivy-cache" --format json \
  -o "$WORK/lic.trivy.json" "$NM_SRC/node_modules"
python3 - "$WORK" <<'PY'
import json, sys
w = sys.argv[1]
ours = json.load(open(f"{w}/lic.ours.json"))
t = json.load(open(f"{w}/lic.trivy.json"))
o_t, o_rss = open(f"{w}/lic.ours.time").read().split()
t_t, t_rss = open(f"{w}/lic.trivy.time").read().split()
lic = [(r.get("Class"), l) for r in t.get("Results") or [] for l in r.get("Licenses") or []]
by_type = {}
names = set()
for cls, l in lic:
    by_type[cls] = by_type.get(cls, 0) + 1
    names.add(l.get("Name"))
print("| tool | wall s | licences found | declared (package metadata) | detected (licence files/texts) | distinct ids | peak RSS MiB |")
print("|---|---|---|---|---|---|---|")
print(f"| portcullis license/spdx | {float(o_t):.2f} | {ours['licence_findings']} | {ours['declared']} | {ours['detected']} | {ours['distinct_expressions']} | {int(o_rss)/1024:.0f} |")
print(f"| trivy --license-full | {float(t_t):.2f} | {len(lic)} | {sum(v for k, v in by_type.items() if k != 'license-file')} | {by_type.get('license-file',0)} | {len(names)} | {int(t_rss)/1024:.0f} |")
print("trivy by result class:", by_type)
print("portcullis violations:", ours["violations_by_rule"])
PY
