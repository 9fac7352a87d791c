#!/usr/bin/env python3
"""Writes a small seed corpus for the `walk` fuzz target (one tiny sample per format) into DIR."""
import bz2, gzip, io, lzma, os, sys, tarfile, zipfile

out = sys.argv[1] if len(sys.argv) > 1 else "corpus/walk"
os.makedirs(out, exist_ok=True)

def tar(members):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in members:
            ti = tarfile.TarInfo(name); ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
        ln = tarfile.TarInfo("link"); ln.type = tarfile.SYMTYPE; ln.linkname = "/etc/passwd"
        t.addfile(ln)
    return b.getvalue()

def zipb(members):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            z.writestr(name, data)
    return b.getvalue()

def ar(members):
    o = b"!<arch>\n"
    for name, data in members:
        o += f"{name + '/':<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}`\n".encode() + data
        if len(data) % 2:
            o += b"\n"
    return o

def cpio(members):
    o = b""
    for i, (name, data) in enumerate(members + [("TRAILER!!!", b"")]):
        n = name.encode() + b"\0"
        h = b"070701" + b"".join(f"{v:08x}".encode() for v in
                                 [i, 0o100644, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(n), 0])
        o += h + n
        o += b"\0" * (-len(o) % 4)
        o += data
        o += b"\0" * (-len(o) % 4)
    return o

files = [("a.txt", b"hello\n"), ("dir/b.json", b'{"k": 1}\n')]
t = tar(files)
samples = {
    "tar": t,
    "tar.gz": gzip.compress(t),
    "tar.bz2": bz2.compress(t),
    "tar.xz": lzma.compress(t),
    "zip": zipb(files + [("inner.zip", zipb(files))]),
    "deb": ar([("debian-binary", b"2.0\n"), ("data.tar.gz", gzip.compress(t))]),
    "cpio": cpio(files),
    "image.tar": tar([("manifest.json", b'[{"Config":"c.json","Layers":["l/layer.tar"]}]'),
                      ("c.json", b"{}"), ("l/layer.tar", t)]),
    "text": b"just text\n",
}
for name, data in samples.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
print(f"{len(samples)} seeds in {out}")
