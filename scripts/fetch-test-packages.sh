#!/usr/bin/env bash
# Fetches real, known-vulnerable (and a few fixed) packages by name from the package registries into a cache
# directory, for `shared/vuln/tests/registry_packages.rs` (which asserts their advisories from
# ../shared/data/osv). Idempotent: a file already in the cache is not fetched again. Prints the directory.
#   scripts/fetch-test-packages.sh            # → ~/.cache/portcullis/testdata/packages
#   PORTCULLIS_TEST_PACKAGES=$(scripts/fetch-test-packages.sh) cargo test -p portcullis-vuln --test registry_packages
# Registries: PyPI (pip), npm (npm pack), crates.io (the crate download host, else `cargo fetch`), Debian
# (apt-get download). The file names below are the ones the test expects.
source "$(dirname "$0")/lib.sh"

dir="$PORTCULLIS_CACHE/testdata/packages"
mkdir -p "$dir"/{pypi,npm,crates,deb}

have() { [[ -s $1 ]]; }

# PyPI: wheels (binary only) and one sdist. `pip download` names the file after the upload.
pypi() { # kind(wheel|sdist) requirement expected-file
  local kind=$1 req=$2 file=$3
  have "$dir/pypi/$file" && return 0
  log "PyPI $req ($kind)"
  local fmt=(--only-binary :all:)
  [[ $kind == sdist ]] && fmt=(--no-binary :all:)
  python3 -m pip download -q --no-deps "${fmt[@]}" -d "$dir/pypi" "$req" >&2
  have "$dir/pypi/$file" || { echo "PyPI $req: expected $file in $dir/pypi" >&2; return 1; }
}
pypi wheel Jinja2==2.10 Jinja2-2.10-py2.py3-none-any.whl
pypi wheel urllib3==1.24.1 urllib3-1.24.1-py2.py3-none-any.whl
pypi wheel urllib3==1.26.18 urllib3-1.26.18-py2.py3-none-any.whl
pypi wheel requests==2.19.1 requests-2.19.1-py2.py3-none-any.whl
pypi sdist PyYAML==5.3 PyYAML-5.3.tar.gz

# npm: the registry tarballs (`npm pack` prints the file name).
npm_pack() { # spec expected-file
  local spec=$1 file=$2
  have "$dir/npm/$file" && return 0
  log "npm $spec"
  (cd "$dir/npm" && npm pack --silent "$spec" >/dev/null)
  have "$dir/npm/$file" || { echo "npm $spec: expected $file in $dir/npm" >&2; return 1; }
}
npm_pack lodash@4.17.15 lodash-4.17.15.tgz
npm_pack lodash@4.17.21 lodash-4.17.21.tgz
npm_pack minimist@1.2.0 minimist-1.2.0.tgz
npm_pack node-fetch@2.6.0 node-fetch-2.6.0.tgz

# crates.io: the .crate as published; fall back to `cargo fetch` in a throwaway project.
crate() { # name version
  local n=$1 v=$2 file="$1-$2.crate"
  have "$dir/crates/$file" && return 0
  log "crates.io $n $v"
  if ! curl -fsSL --retry 2 -o "$dir/crates/$file.part" "https://static.crates.io/crates/$n/$file"; then
    local proj; proj=$(mktemp -d)
    mkdir -p "$proj/src" && : >"$proj/src/lib.rs"
    printf '[package]\nname = "fetch-test-crate"\nversion = "0.0.0"\nedition = "2021"\n\n[dependencies]\n%s = "=%s"\n' \
      "$n" "$v" >"$proj/Cargo.toml"
    (cd "$proj" && cargo fetch -q >&2)
    cp "$(ls -1 "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/"$file" | head -1)" "$dir/crates/$file.part"
    rm -rf "$proj"
  fi
  mv "$dir/crates/$file.part" "$dir/crates/$file"
}
crate smallvec 1.6.0
crate time 0.2.22
crate regex 1.5.4

# Debian: binary packages of the machine's release (Debian 12), pinned (apt-get download writes into the
# current directory; the file name carries the version, with `:` of an epoch as `%3a`).
deb() { # package version
  local p=$1 v=$2 file
  file="${p}_${v//:/%3a}_$(apt-cache show "$p=$v" 2>/dev/null | sed -n 's/^Architecture: //p' | head -1).deb"
  compgen -G "$dir/deb/${p}_${v//:/%3a}_*.deb" >/dev/null && return 0
  log "Debian $p=$v"
  (cd "$dir/deb" && { apt-get download -q "$p=$v" >&2 2>/dev/null ||
    { apt-get update -qq >&2 && apt-get download -q "$p=$v" >&2; }; })
  compgen -G "$dir/deb/${p}_${v//:/%3a}_*.deb" >/dev/null || { echo "Debian $p=$v: not downloaded ($file)" >&2; return 1; }
}
deb libodbc2 2.3.11-2+deb12u1
deb unixodbc-common 2.3.11-2+deb12u1
deb libcommons-compress-java 1.22-1
deb liblog4j1.2-java 1.2.17-11

echo "$dir"
