#!/usr/bin/env bash
# Reader throughput benchmark: generates inputs under $BENCH_DIR (default /tmp/portcullis-bench), walks each
# with the reader (null visitor reading every byte, `reader_bench` example, release build) and, on the same
# file in the same run, the raw decompressor (zcat / unzip -p). Prints a markdown table: uncompressed MB/s,
# ours as % of raw speed, peak RSS of both (GNU time).
#
# Needs: python3, gzip, unzip, /usr/bin/time (Debian packages `unzip`, `time`). Optional: a root filesystem
# for the image case in $ROOTFS (default /tmp/rootfs, e.g. from `debootstrap --variant=minbase bookworm`);
# without it the image layer is a tar of /usr/share and /usr/lib (local files).
set -euo pipefail

BENCH_DIR=${BENCH_DIR:-/tmp/portcullis-bench}
ROOTFS=${ROOTFS:-/tmp/rootfs}
REPO=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/portcullis-bench-target}
mkdir -p "$BENCH_DIR"

for tool in python3 gzip zcat unzip /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y unzip time gzip python3)" >&2; exit 1; }
done

# --- inputs -------------------------------------------------------------------------------------------------
SMALL_TGZ="$BENCH_DIR/small-files.tar.gz"
SMALL_ZIP="$BENCH_DIR/small-files.zip"
IMAGE="$BENCH_DIR/image.tar"

if [[ ! -s $SMALL_TGZ || ! -s $SMALL_ZIP ]]; then
    echo "generating ~200 MB of small files (tar.gz and zip)…" >&2
    python3 - "$BENCH_DIR" <<'EOF'
import io, random, sys, tarfile, zipfile, gzip, os
out = sys.argv[1]
rnd = random.Random(7)
words = [''.join(rnd.choice('abcdefghijklmnopqrstuvwxyz') for _ in range(rnd.randint(2, 10))) for _ in range(5000)]
def content(i):
    # Source-code-like text: compresses ~3-4x, like real packages.
    n = rnd.randint(2_000, 18_000)
    parts, size = [], 0
    while size < n:
        line = ' '.join(rnd.choice(words) for _ in range(rnd.randint(3, 12))) + f' = {rnd.randint(0, 1 << 30)};\n'
        parts.append(line); size += len(line)
    return ''.join(parts).encode()
total, i = 0, 0
tpath, zpath = os.path.join(out, 'small-files.tar.gz'), os.path.join(out, 'small-files.zip')
with gzip.open(tpath, 'wb', compresslevel=6) as gz, tarfile.open(fileobj=gz, mode='w|') as tf, \
        zipfile.ZipFile(zpath, 'w', zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
    while total < 200_000_000:
        data = content(i)
        name = f'pkg{i // 500}/src/mod{i % 500}/file{i}.txt'
        ti = tarfile.TarInfo(name); ti.size = len(data); ti.mtime = 1_700_000_000
        tf.addfile(ti, io.BytesIO(data))
        zf.writestr(name, data)
        total += len(data); i += 1
print(f'{i} files, {total} bytes', file=sys.stderr)
EOF
fi

if [[ ! -s $IMAGE ]]; then
    echo "building an image tarball…" >&2
    work=$(mktemp -d)
    if [[ -x $ROOTFS/bin/sh || -L $ROOTFS/bin ]]; then
        SRC_DESC="debootstrap minbase bookworm ($ROOTFS)"
        # As a built image would be: package caches cleaned (`apt-get clean`).
        tar -C "$ROOTFS" --exclude='./var/cache/apt/archives/*.deb' -cf "$work/base.tar" .
    else
        SRC_DESC="local /usr/share + /usr/lib/x86_64-linux-gnu (no rootfs)"
        tar -C / -cf "$work/base.tar" usr/share usr/lib/x86_64-linux-gnu 2>/dev/null || true
    fi
    # Upper layer: overwrite and delete something, as real images do.
    mkdir -p "$work/l2/etc" && echo "ID=bench" > "$work/l2/etc/os-release" && touch "$work/l2/etc/.wh.motd"
    tar -C "$work/l2" -cf "$work/top.tar" .
    mkdir -p "$work/img/base" "$work/img/top"
    gzip -6 -c "$work/base.tar" > "$work/img/base/layer.tar"
    gzip -6 -c "$work/top.tar" > "$work/img/top/layer.tar"
    echo '{"architecture":"amd64","os":"linux"}' > "$work/img/config.json"
    echo '[{"Config":"config.json","RepoTags":["bench:latest"],"Layers":["base/layer.tar","top/layer.tar"]}]' \
        > "$work/img/manifest.json"
    tar -C "$work/img" -cf "$IMAGE" manifest.json config.json base top
    echo "$SRC_DESC" > "$IMAGE.source"
    rm -rf "$work"
fi

echo "building reader_bench (release)…" >&2
(cd "$REPO" && cargo build --release -q -p portcullis-core --example reader_bench)
BIN="$CARGO_TARGET_DIR/release/examples/reader_bench"

# --- measurements -------------------------------------------------------------------------------------------
# time_cmd OUTVAR_SECS OUTVAR_RSS -- command…  (wall seconds and max RSS in KiB from GNU time)
measure() {
    local log
    log=$(mktemp)
    /usr/bin/time -v -o "$log" bash -c "$1" >/dev/null
    local wall rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log")
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
    rm -f "$log"
    # h:mm:ss or m:ss.ss → seconds
    python3 -c "
import sys
p = '$wall'.split(':')
s = sum(float(x) * 60 ** i for i, x in enumerate(reversed(p)))
print(f'{s:.3f} $rss')"
}

row() { # name file raw-command
    local name=$1 file=$2 raw=$3
    local ours_line bytes o r
    ours_line=$("$BIN" "$file" | head -1)
    bytes=$(sed -E 's/.*read_bytes=([0-9]+).*/\1/' <<<"$ours_line")
    issues=$(sed -E 's/.*issues=([0-9]+).*/\1/' <<<"$ours_line")
    # Best of 3 for both sides (shared machine: other jobs add noise).
    best_o="" best_r=""
    for _ in 1 2 3; do
        o=$(measure "'$BIN' '$file'")
        r=$(measure "$raw")
        [[ -z $best_o || $(cut -d' ' -f1 <<<"$o") < $(cut -d' ' -f1 <<<"$best_o") ]] && best_o=$o
        [[ -z $best_r || $(cut -d' ' -f1 <<<"$r") < $(cut -d' ' -f1 <<<"$best_r") ]] && best_r=$r
    done
    python3 - "$name" "$file" "$bytes" "$best_o" "$best_r" "$issues" <<'EOF'
import os, sys
name, path, nbytes, o, r, issues = sys.argv[1:]
nbytes = int(nbytes)
os_, orss = o.split(); rs, rrss = r.split()
os_, rs = float(os_), float(rs)
mb = nbytes / 1e6
print(f"| {name} | {os.path.getsize(path)/1e6:.0f} MB → {mb:.0f} MB | {mb/os_:.0f} MB/s ({os_:.2f} s) | "
      f"{mb/rs:.0f} MB/s ({rs:.2f} s) | {100*rs/os_:.0f} % | {int(orss)/1024:.0f} MB | {int(rrss)/1024:.0f} MB | {issues} |")
EOF
}

echo
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%Y-%m-%d)"
echo "Image source: $(cat "$IMAGE.source" 2>/dev/null || echo unknown)"
echo
echo "| input | compressed → uncompressed | reader (null visitor, reads every byte) | raw decompressor | reader / raw speed | reader peak RSS | raw peak RSS | issues |"
echo "|---|---|---|---|---|---|---|---|"
row "tar.gz, many small files" "$SMALL_TGZ" "zcat '$SMALL_TGZ' > /dev/null"
row "zip, many small files" "$SMALL_ZIP" "unzip -p '$SMALL_ZIP' > /dev/null"
row "docker-save image (2 gzip layers)" "$IMAGE" \
    "tar -xOf '$IMAGE' base/layer.tar top/layer.tar | zcat > /dev/null"
