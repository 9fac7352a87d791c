#!/usr/bin/env bash
# The main job, as deployed, on this machine: the serverless pipeline of template.yaml on 127.0.0.1 with real
# servers and the bundled samples. Starts moto_server (S3 + EventBridge + SQS, wired like the template) and
# the tansu Kafka broker, runs every function binary against the Lambda Runtime API of
# `cargo lambda watch --only-lambda-apis`, drives the SQS → function mappings (scripts/local_stack.py),
# uploads the samples, and prints the SecurityEvents read back from the topic with each artifact's verdict,
# status tag and upload → last-event latency. Everything it started is stopped at the end.
#
#   scripts/local-stack.sh                 the bundled samples (samples/make-samples.sh)
#   scripts/local-stack.sh FILE...         your own files
#   scripts/local-stack.sh --keep [FILE…]  leave the stack running until Ctrl-C
#
# Env: PROFILE (dev | release; default dev, shared with the test suite), TOOLS (default
#      vuln,license,malware,secrets), PORTCULLIS_LOCAL_DIR (logs; default /tmp/portcullis-stack),
#      POLICY_URI (a policy file for the functions; default: the embedded policy), SUMMARY_JSON (write a
#      JSON summary there).
source "$(dirname "$0")/lib.sh"
root=$(repo_root)
cd "$root"

keep=()
files=()
for a in "$@"; do
  case $a in
    --keep) keep=(--keep) ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) files+=("$(realpath "$a")") ;;
  esac
done

ensure_apt cmake libcurl4-openssl-dev build-essential
ensure_venv
# cargo-lambda (PyPI) provides the Lambda Runtime API emulator.
if ! command -v cargo-lambda >/dev/null; then
  [[ -x $VENV/bin/cargo-lambda ]] || { log "pip install cargo-lambda"; "$VENV/bin/pip" install -q cargo-lambda==1.9.2 >&2; }
  export PATH="$VENV/bin:$PATH"
fi

profile=${PROFILE:-dev}
build_pipeline "$profile"
bin_dir=$BIN_DIR

if ((${#files[@]} == 0)); then
  samples=$(samples/make-samples.sh)
  for f in "$samples"/*; do files+=("$f"); done
fi

db=$(ensure_osv_db "$bin_dir/portcullis")

local_dir=${PORTCULLIS_LOCAL_DIR:-/tmp/portcullis-stack}
mkdir -p "$local_dir"
broker_port=$(free_port)
export PORTCULLIS_BROKER_DIR="$local_dir/broker" PYTHON="$VENV/bin/python"
bootstrap=$(scripts/start-broker.sh "$broker_port" security-events | sed -n 's/^KAFKA_BOOTSTRAP_SERVERS=//p')
trap 'scripts/start-broker.sh stop >/dev/null 2>&1 || true' EXIT
log "Kafka broker (tansu) on $bootstrap"

args=(run --bin-dir "$bin_dir" --db "$db" --broker "$bootstrap" --moto-server "$VENV/bin/moto_server"
      --tools "${TOOLS:-vuln,license,malware,secrets}" --dir "$local_dir" --policy "${POLICY_URI:-}")
[[ -n ${SUMMARY_JSON:-} ]] && args+=(--json "$SUMMARY_JSON")
"$VENV/bin/python" scripts/local_stack.py "${args[@]}" "${keep[@]}" "${files[@]}"
