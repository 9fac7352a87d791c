#!/usr/bin/env bash
# Builds the bundled sample artifacts into $PORTCULLIS_CACHE/samples (default ~/.cache/portcullis/samples):
# small generated artifacts (clean, malware test file, leaked credentials, decompression bomb, path traversal,
# denied licence) plus real packages fetched by name from PyPI and npm (cached). Prints the directory.
# Test strings that trip antivirus products (EICAR) are assembled here, never committed.
source "$(dirname "$0")/../scripts/lib.sh"
out="${1:-$PORTCULLIS_CACHE/samples}"
mkdir -p "$out"
root=$(repo_root)
data=$(shared_data)

python3 - "$out" "$root" "$data" <<'PY'
import gzip, io, os, random, sys, tarfile, zipfile
out, root, data = sys.argv[1:4]

def tgz(name, files):
    path = os.path.join(out, name)
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as t:
        for n, body in files:
            info = tarfile.TarInfo(n); info.size = len(body); info.mtime = 1700000000; info.mode = 0o644
            t.addfile(info, io.BytesIO(body))

# 1. clean: documentation and a permissive licence
readme = open(os.path.join(root, "README.md"), "rb").read() if os.path.exists(os.path.join(root, "README.md")) else b"Portcullis\n"
tgz("clean-docs.tar.gz", [("docs/README.md", readme),
                          ("docs/NOTES.txt", b"Release notes\n\nNothing to see here.\n")])

# 2. malware test file (EICAR) inside a zip, assembled from parts
eicar = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
with zipfile.ZipFile(os.path.join(out, "eicar-in-zip.zip"), "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("readme.txt", "installer\n")
    z.writestr("bin/eicar.com", eicar)

# 3. leaked credentials (synthetic, deterministic)
rnd = random.Random(7)
alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
key_id = "AKIA" + "".join(rnd.choice(alnum) for _ in range(16))
b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
secret = "".join(rnd.choice(b64) for _ in range(40))
gh = "ghp_" + "".join(rnd.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(36))
env = f"APP_ENV=production\nAWS_ACCESS_KEY_ID={key_id}\nAWS_SECRET_ACCESS_KEY={secret}\nGITHUB_TOKEN={gh}\n".encode()
tgz("leaky-config.tgz", [("app/config/.env", env), ("app/main.py", b"print('hello')\n")])

# 4. decompression bomb: 1 GiB of zeros, gzip'd (about 1 MB)
bomb = os.path.join(out, "bomb-1gib.gz")
if not os.path.exists(bomb):
    with gzip.open(bomb, "wb", compresslevel=9) as g:
        block = b"\0" * (1 << 20)
        for _ in range(1024):
            g.write(block)

# 5. path traversal + symlink escape
with tarfile.open(os.path.join(out, "traversal.tar"), "w") as t:
    for n, body in [("../../etc/cron.d/evil", b"* * * * * root sh -c 'id'\n"), ("ok.txt", b"fine\n")]:
        info = tarfile.TarInfo(n); info.size = len(body); t.addfile(info, io.BytesIO(body))
    link = tarfile.TarInfo("etc-link"); link.type = tarfile.SYMTYPE; link.linkname = "/etc"; t.addfile(link)
    body = b"root::0:0::/root:/bin/sh\n"
    info = tarfile.TarInfo("etc-link/passwd"); info.size = len(body); t.addfile(info, io.BytesIO(body))

# 6. a project under a denied licence (AGPL-3.0 text from the SPDX test corpus)
agpl = os.path.join(data, "licenses/spdx-license-list-XML/test/simpleTestForGenerator/AGPL-3.0-only.txt")
if os.path.exists(agpl):
    tgz("agpl-project.tar.gz", [("project/LICENSE", open(agpl, "rb").read()),
                                ("project/package.json", b'{"name":"agpl-thing","version":"1.0.0","license":"AGPL-3.0-only"}\n')])
PY

# 7. real packages by name from the registries (cached; skipped with a note when a registry is unreachable)
if ! ls "$out"/Jinja2-2.10-*.whl >/dev/null 2>&1; then
  python3 -m pip download -q --no-deps --only-binary=:all: -d "$out" 'Jinja2==2.10' >&2 || echo "note: PyPI unreachable, Jinja2 sample skipped" >&2
fi
if [[ ! -f $out/lodash-4.17.15.tgz ]] && command -v npm >/dev/null; then
  (cd "$out" && npm pack -q lodash@4.17.15 >/dev/null 2>&1) || echo "note: npm unreachable, lodash sample skipped" >&2
fi
echo "$out"
