#!/usr/bin/env bash
# Smoke test: `sam local invoke` of every function with the samples in events/, against moto_server on the
# host (container on the host network). Needs a Docker engine, SAM CLI (venv), `sam build` output, and the
# locally built base image (no registry: see SAM-LOCAL.md). Prints SKIPPED and exits 77 when there is no
# Docker engine — it never pretends to pass.
#
#   scripts/sam-local-invoke.sh            build the base image if needed, sam build if needed, invoke all
# Env: SAM (default /root/.venvs/sam/bin/sam), MOTO_PORT (5056), ROOTFS (/tmp/lambda-rootfs).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SAM="${SAM:-/root/.venvs/sam/bin/sam}"
MOTO_PORT="${MOTO_PORT:-5056}"
ROOTFS="${ROOTFS:-/tmp/lambda-rootfs}"
DIR="${PORTCULLIS_LOCAL_DIR:-/tmp/portcullis-local}"
IMAGE="public.ecr.aws/lambda/provided:al2023-x86_64"
export SAM_CLI_TELEMETRY=0 SAM_SKIP_PULL_IMAGE=1 AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
       AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
mkdir -p "$DIR"

if ! docker info >/dev/null 2>&1; then
    echo "SKIPPED: no Docker engine reachable (docker info failed); sam local invoke was not run" >&2
    exit 77
fi
[ -x "$SAM" ] || { echo "SKIPPED: SAM CLI not found at $SAM" >&2; exit 77; }

if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
    [ -d "$ROOTFS/usr" ] || debootstrap --variant=minbase --include=ca-certificates bookworm "$ROOTFS"
    mkdir -p "$ROOTFS"/{var/task,var/runtime,opt}
    tar -C "$ROOTFS" -c . | docker import \
      --change 'ENV LANG=C.UTF-8' --change 'ENV TZ=:/etc/localtime' \
      --change 'ENV PATH=/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin' \
      --change 'ENV LD_LIBRARY_PATH=/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib' \
      --change 'ENV LAMBDA_TASK_ROOT=/var/task' --change 'ENV LAMBDA_RUNTIME_DIR=/var/runtime' \
      --change 'WORKDIR /var/task' - "$IMAGE"
fi

cd "$ROOT"
[ -d .aws-sam/build ] || "$SAM" build

started_moto=""
if ! curl -fsS "http://127.0.0.1:$MOTO_PORT/moto-api/" >/dev/null 2>&1; then
    moto_server -H 127.0.0.1 -p "$MOTO_PORT" >"$DIR/sam-moto.log" 2>&1 &
    started_moto=$!
    sleep 2
fi
trap '[ -n "$started_moto" ] && kill "$started_moto"' EXIT
python3 - "$MOTO_PORT" <<'PY'
import boto3, sys
s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{sys.argv[1]}", region_name="us-east-1",
                  aws_access_key_id="test", aws_secret_access_key="test")
for b in ("portcullis-artifacts", "portcullis-results"):
    try: s3.create_bucket(Bucket=b)
    except s3.exceptions.BucketAlreadyOwnedByYou: pass
PY

cat >"$DIR/sam-env.json" <<JSON
{"Parameters": {"AWS_ENDPOINT_URL": "http://127.0.0.1:$MOTO_PORT", "RESULTS_BUCKET": "portcullis-results",
  "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1", "POLICY_URI": ""}}
JSON

fail=0
run() { # function event expect-substring
    local out
    if out="$("$SAM" local invoke "$1" -e "events/$2" --env-vars "$DIR/sam-env.json" --docker-network host \
                --skip-pull-image 2>"$DIR/sam-$1-$2.log")" && grep -q "$3" <<<"$out"; then
        echo "PASS $1 $2: $out"
    else
        echo "FAIL $1 $2: ${out:-<no output>} (log $DIR/sam-$1-$2.log)"; fail=1
    fi
}
for fn in $(grep -oE '^  [A-Za-z]+ScanFunction:' template.yaml | tr -d ' :'); do
    run "$fn" s3-test-event.json batchItemFailures
    run "$fn" sqs-eventbridge.json batchItemFailures
done
run FanInFunction fan-in-result-created.json batchItemFailures
exit $fail
