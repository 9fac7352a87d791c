#!/usr/bin/env bash
# Cold start of every pipeline function (fresh process → first response) on release binaries, against real
# moto S3/SQS/EventBridge and a tansu broker on 127.0.0.1; see scripts/bench_coldstart.py for what is timed.
#   scripts/bench-coldstart.sh [FILE] [REPS]     default: the clean sample, 5 repetitions
# Env: PROFILE (default release), JSON (write the medians there), BENCH_RUST_LOG (the functions' RUST_LOG;
# default warn; with info the per-run logs in the work dir carry load/warm-up timings).
source "$(dirname "$0")/lib.sh"
root=$(repo_root)
cd "$root"
ensure_apt cmake libcurl4-openssl-dev build-essential
ensure_venv

profile=${PROFILE:-release}
build_pipeline "$profile"
bin_dir=$BIN_DIR

file=${1:-}
if [[ -z $file ]]; then
  file="$(samples/make-samples.sh)/clean-docs.tar.gz"
fi
file=$(realpath "$file")

db=$(ensure_osv_db "$bin_dir/portcullis")

work=$(mktemp -d /tmp/portcullis-coldstart.XXXXXX)
export PORTCULLIS_BROKER_DIR="$work/broker" PYTHON="$VENV/bin/python"
bootstrap=$(scripts/start-broker.sh "$(free_port)" security-events | sed -n 's/^KAFKA_BOOTSTRAP_SERVERS=//p')
trap 'scripts/start-broker.sh stop >/dev/null 2>&1 || true' EXIT

args=(--bin-dir "$bin_dir" --db "$db" --broker "$bootstrap" --moto-server "$VENV/bin/moto_server"
      --reps "${2:-5}" --dir "$work")
[[ -n ${JSON:-} ]] && args+=(--json "$JSON")
"$VENV/bin/python" scripts/bench_coldstart.py "${args[@]}" "$file"
