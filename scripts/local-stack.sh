#!/usr/bin/env bash
# Portcullis local stack: moto_server (S3 + SQS + EventBridge) and the Kafka broker on 127.0.0.1, wired like
# template.yaml; the functions under `cargo lambda watch`; a driver that polls the SQS queues and invokes the
# functions with real SQS batch events; the bundled samples uploaded and the verdicts printed.
#
#   scripts/local-stack.sh [up]     start everything, upload samples/, drive until idle, print chains
#   scripts/local-stack.sh drive    drive the queues again (after uploading more)
#   scripts/local-stack.sh down     stop what this script started (by pid file)
#
# Env: ENABLED_TOOLS (default: the tool functions that exist under functions/), MOTO_PORT (5055),
#      WATCH_PORT (9310), PORTCULLIS_LOCAL_DIR (/tmp/portcullis-local: pid files, logs, env file — kept
#      OUTSIDE the crates, or cargo lambda watch reloads on every log line).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="${PORTCULLIS_LOCAL_DIR:-/tmp/portcullis-local}"
MOTO_PORT="${MOTO_PORT:-5055}"
WATCH_PORT="${WATCH_PORT:-9310}"
export PORTCULLIS_LOCAL_DIR="$DIR" PORTCULLIS_S3_ENDPOINT="http://127.0.0.1:$MOTO_PORT" PORTCULLIS_WATCH_PORT="$WATCH_PORT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target-pipeline}"
mkdir -p "$DIR"
log() { echo "local-stack: $*" >&2; }

declare -A BIN=([vuln]=vuln-scan [license]=license-scan [malware]=malware-scan [secrets]=secret-scan)
if [ -z "${ENABLED_TOOLS:-}" ]; then
    t=()
    for slot in vuln license malware secrets; do [ -f "$ROOT/functions/${BIN[$slot]}/Cargo.toml" ] && t+=("$slot"); done
    ENABLED_TOOLS="$(IFS=,; echo "${t[*]}")"
fi
export ENABLED_TOOLS
FUNCTIONS="fan-in"
for slot in ${ENABLED_TOOLS//,/ }; do FUNCTIONS="$FUNCTIONS,${BIN[$slot]}"; done
[ -f "$ROOT/functions/publisher/Cargo.toml" ] && FUNCTIONS="$FUNCTIONS,publisher"
export PORTCULLIS_FUNCTIONS="$FUNCTIONS"

alive() { [ -f "$DIR/$1.pid" ] && kill -0 "$(cat "$DIR/$1.pid")" 2>/dev/null; }

start_moto() {
    if alive moto; then log "moto_server already running"; return; fi
    moto_server -H 127.0.0.1 -p "$MOTO_PORT" >"$DIR/moto.log" 2>&1 &
    echo $! >"$DIR/moto.pid"
    for _ in $(seq 1 50); do curl -fsS "http://127.0.0.1:$MOTO_PORT/moto-api/" >/dev/null 2>&1 && break; sleep 0.2; done
    log "moto_server on 127.0.0.1:$MOTO_PORT (pid $(cat "$DIR/moto.pid"))"
}

start_broker() {
    if [ -x "$ROOT/scripts/start-broker.sh" ]; then
        KAFKA_LINE="$("$ROOT/scripts/start-broker.sh" | grep '^KAFKA_BOOTSTRAP_SERVERS=' || true)"
        [ -n "$KAFKA_LINE" ] && export "${KAFKA_LINE?}"
        log "broker: ${KAFKA_BOOTSTRAP_SERVERS:-not started}"
    else
        log "scripts/start-broker.sh not present: no broker, the publisher is not driven"
    fi
}

write_env() {
    local dlqs=""
    for slot in ${ENABLED_TOOLS//,/ }; do dlqs="$dlqs${dlqs:+,}$slot=portcullis-$slot-dlq"; done
    cat >"$DIR/functions.env" <<ENV
AWS_ENDPOINT_URL=http://127.0.0.1:$MOTO_PORT
AWS_REGION=us-east-1
AWS_ACCESS_KEY_ID=test
AWS_SECRET_ACCESS_KEY=test
RESULTS_BUCKET=portcullis-results
ARTIFACT_PREFIX=
ENABLED_TOOLS=$ENABLED_TOOLS
TOOL_DLQS=$dlqs
QUARANTINE_MODE=tag
POLICY_URI=${POLICY_URI:-}
KAFKA_BOOTSTRAP_SERVERS=${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:19092}
KAFKA_AUTH=plaintext
KAFKA_TOPIC=security-events
RUST_LOG=info
ENV
}

start_watch() {
    if alive watch; then log "cargo lambda watch already running"; return; fi
    (cd "$ROOT" && cargo lambda watch -A 127.0.0.1 -P "$WATCH_PORT" --env-file "$DIR/functions.env" \
        >"$DIR/watch.log" 2>&1 & echo $! >"$DIR/watch.pid")
    for _ in $(seq 1 100); do grep -q -i "listening\|ready\|started" "$DIR/watch.log" 2>/dev/null && break; sleep 0.3; done
    log "cargo lambda watch on 127.0.0.1:$WATCH_PORT (pid $(cat "$DIR/watch.pid"), log $DIR/watch.log)"
}

case "${1:-up}" in
up)
    log "tools: $ENABLED_TOOLS; functions: $FUNCTIONS"
    start_moto
    start_broker
    python3 "$ROOT/scripts/local_stack.py" setup
    write_env
    start_watch
    shopt -s nullglob
    samples=("$ROOT"/samples/*)
    files=(); for f in "${samples[@]}"; do [ -f "$f" ] && files+=("$f"); done
    [ ${#files[@]} -gt 0 ] && python3 "$ROOT/scripts/local_stack.py" upload "${files[@]}"
    python3 "$ROOT/scripts/local_stack.py" drive
    python3 "$ROOT/scripts/local_stack.py" chains
    ;;
drive)
    python3 "$ROOT/scripts/local_stack.py" drive
    python3 "$ROOT/scripts/local_stack.py" chains
    ;;
down)
    for p in watch moto; do
        if alive "$p"; then kill "$(cat "$DIR/$p.pid")" && log "stopped $p"; fi
        rm -f "$DIR/$p.pid"
    done
    [ -x "$ROOT/scripts/start-broker.sh" ] && "$ROOT/scripts/start-broker.sh" stop || true
    ;;
*) sed -n '2,12p' "$0"; exit 2 ;;
esac
