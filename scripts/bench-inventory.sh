#!/usr/bin/env bash
# Package-inventory benchmark: Portcullis (`inventory-bench`, release build: core reader + PackageVisitor)
# against syft (`syft <input> -o json`) on the same inputs, in one run. Prints a markdown table (packages
# found by each, wall seconds, time ratio) and writes per-input name@version lists and their differences to
# $BENCH_DIR/*.ours / *.syft / *.diff for explaining them.
#
# Inputs (built once under $BENCH_DIR, default /tmp/portcullis-bench-inventory):
#   node_modules.tgz  `npm install` of express@4 webpack@5 eslint@8 typescript@5 jest@29 (npm registry),
#                     node_modules only
#   fat.jar           tabula-1.0.5-jar-with-dependencies.jar, the real fat jar shipped in the PyPI wheel
#                     tabula-py 2.10.0 (Maven Central is not reachable here)
#   image.tar         a docker-save image built from this machine's real files: layer 1 = dpkg status,
#                     /usr/lib/python3/dist-packages, /usr/share/java; layer 2 = the node_modules tree, the
#                     fat jar and a whiteout deleting one dist-packages directory of layer 1
# Needs: python3 (+pip), npm, tar, jq; syft from shared/tools/install-peers.sh.
set -euo pipefail

BENCH_DIR=${BENCH_DIR:-/tmp/portcullis-bench-inventory}
REPO=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/portcullis-bench-target}
mkdir -p "$BENCH_DIR"

PEERS=$(bash "${INSTALL_PEERS:-$REPO/../shared/tools/install-peers.sh}")
SYFT="$PEERS/syft"
export SYFT_CHECK_FOR_APP_UPDATE=false

echo "building inventory-bench (release)…" >&2
(cd "$REPO" && cargo build --release -q -p portcullis-inventory --bin inventory-bench)
BIN="$CARGO_TARGET_DIR/release/inventory-bench"

# --- inputs -------------------------------------------------------------------------------------------------
NPM_TGZ="$BENCH_DIR/node_modules.tgz"
JAR="$BENCH_DIR/fat.jar"
IMAGE="$BENCH_DIR/image.tar"

if [[ ! -f $NPM_TGZ ]]; then
    echo "npm install (real packages from the npm registry)…" >&2
    rm -rf "$BENCH_DIR/npmproj" && mkdir -p "$BENCH_DIR/npmproj"
    (cd "$BENCH_DIR/npmproj" && npm init -y >/dev/null \
        && npm install --no-audit --no-fund -q express@4 webpack@5 eslint@8 typescript@5 jest@29 >&2)
    tar -C "$BENCH_DIR/npmproj" -czf "$NPM_TGZ" node_modules
fi

if [[ ! -f $JAR ]]; then
    echo "fetching tabula-py 2.10.0 (PyPI) for its fat jar…" >&2
    python3 -m pip download -q --no-deps 'tabula-py==2.10.0' -d "$BENCH_DIR/pypi" >&2
    python3 - "$BENCH_DIR/pypi" "$JAR" <<'PY'
import glob, sys, zipfile
whl = glob.glob(sys.argv[1] + "/tabula_py-2.10.0-*.whl")[0]
with zipfile.ZipFile(whl) as z, open(sys.argv[2], "wb") as out:
    out.write(z.read("tabula/tabula-1.0.5-jar-with-dependencies.jar"))
PY
fi

if [[ ! -f $IMAGE ]]; then
    echo "building the docker-save image from local files…" >&2
    work="$BENCH_DIR/img" && rm -rf "$work" && mkdir -p "$work/base" "$work/app/srv"
    tar -C / -cf "$work/base/layer.tar" var/lib/dpkg/status usr/lib/python3/dist-packages usr/share/java
    victim=$(cd /usr/lib/python3/dist-packages && ls -d *.dist-info | head -1)
    mkdir -p "$work/app/usr/lib/python3/dist-packages"
    : > "$work/app/usr/lib/python3/dist-packages/.wh.$victim"
    tar -C "$BENCH_DIR/npmproj" -cf - node_modules | tar -C "$work/app/srv" -xf -
    cp "$JAR" "$work/app/srv/tabula.jar"
    tar -C "$work/app" -cf "$work/app/layer.tar" usr srv
    python3 - "$work" "$IMAGE" <<'PY'
import hashlib, json, sys, tarfile, io
work, out = sys.argv[1], sys.argv[2]
def digest(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()
diff_ids = [digest(f"{work}/base/layer.tar"), digest(f"{work}/app/layer.tar")]
with tarfile.open(out, "w") as t:
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                      "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    ti = tarfile.TarInfo("config.json"); ti.size = len(cfg); t.addfile(ti, io.BytesIO(cfg))
    t.add(f"{work}/base/layer.tar", "base/layer.tar")
    t.add(f"{work}/app/layer.tar", "app/layer.tar")
    man = json.dumps([{"Config": "config.json", "RepoTags": ["bench:1"],
                       "Layers": ["base/layer.tar", "app/layer.tar"]}]).encode()
    ti = tarfile.TarInfo("manifest.json"); ti.size = len(man); t.addfile(ti, io.BytesIO(man))
PY
    rm -rf "$work"
fi

# --- runs ---------------------------------------------------------------------------------------------------
now() { date +%s.%N; }
echo "| input | size MB | Portcullis packages | syft packages | common name@version | Portcullis s | syft s | syft / Portcullis time |"
echo "|---|---|---|---|---|---|---|---|"
# node_modules twice: syft's file source does not run its npm cataloger on a tarball, so it also gets the same
# tree unpacked (`dir:`); Portcullis reads the tarball both times.
for case in "node_modules.tgz:$NPM_TGZ:$NPM_TGZ" "node_modules.tgz (syft on dir):$NPM_TGZ:dir:$BENCH_DIR/npmproj/node_modules" \
    "fat.jar:$JAR:$JAR" "image.tar:$IMAGE:docker-archive:$IMAGE"; do
    label=${case%%:*}; rest=${case#*:}; file=${rest%%:*}; syft_src=${rest#*:}
    out="$BENCH_DIR/$(printf %s "$label" | tr -c 'A-Za-z0-9._-' '_')"
    t0=$(now); "$BIN" --purls "$file" > "$out.ours.raw"; t1=$(now)
    "$SYFT" -q "$syft_src" -o json > "$out.syft.json"; t2=$(now)
    ours=$(head -1 "$out.ours.raw" | sed 's/.*packages=\([0-9]*\).*/\1/')
    syftn=$(jq '.artifacts | length' "$out.syft.json")
    # Identity for the comparison: purl name (last segment, without namespace) @ version, percent-decoded and
    # lower-cased; syft leaves the purl empty when it cannot tell the distro (deb without os-release), then its
    # name@version is used. Namespaces are dropped because the tools spell them differently (Maven group ids
    # from pom.properties vs. guessed ones).
    python3 - "$out" <<'PY' > "$out.common"
import json, sys
from urllib.parse import unquote
out = sys.argv[1]
def key(purl, name=None, version=None):
    if purl:
        p = purl.split("?")[0].split("#")[0]
        rest = p.split("/", 1)[1] if "/" in p else p
        n, _, v = rest.rpartition("@") if "@" in rest.split("/")[-1] else (rest, "", "")
        return (unquote(n.split("/")[-1]) + "@" + unquote(v)).lower()
    return f"{name}@{version}".lower()
ours = set()
for line in open(out + ".ours.raw"):
    f = line.rstrip("\n").split("\t")
    if f[0] == "purl" and f[1] != "-":
        ours.add(key(f[1]))
syft = {key(a.get("purl"), a.get("name"), a.get("version")) for a in json.load(open(out + ".syft.json"))["artifacts"]}
with open(out + ".diff", "w") as d:
    d.write("# only Portcullis\n" + "".join(k + "\n" for k in sorted(ours - syft)))
    d.write("# only syft\n" + "".join(k + "\n" for k in sorted(syft - ours)))
print(len(ours & syft))
PY
    common=$(cat "$out.common")
    size=$(python3 -c "import os,sys; print(f'{os.path.getsize(sys.argv[1])/1e6:.1f}')" "$file")
    python3 - "$label" "$size" "$ours" "$syftn" "$common" "$t0" "$t1" "$t2" <<'PY'
import sys
label, size, ours, syft, common, t0, t1, t2 = sys.argv[1:]
a, b = float(t1) - float(t0), float(t2) - float(t1)
print(f"| {label} | {size} | {ours} | {syft} | {common} | {a:.2f} | {b:.2f} | {b / a:.1f}× |")
PY
done
echo "(differences: $BENCH_DIR/*.diff; syft by type: jq '.artifacts|group_by(.type)|map({(.[0].type):length})|add' $BENCH_DIR/*.syft.json)" >&2
