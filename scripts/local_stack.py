#!/usr/bin/env python3
"""Portcullis local stack: the serverless pipeline of template.yaml on 127.0.0.1, with real servers.

  moto_server ........ S3 (artifacts, results, quarantine buckets; EventBridge notifications on), EventBridge
                       rules and SQS queues (+ DLQs) exactly as template.yaml wires them
  tansu .............. the Kafka-compatible broker, topic `security-events`
  cargo lambda watch . the Lambda Runtime API (--only-lambda-apis); every function binary runs as its own
                       process against it (AWS_LAMBDA_RUNTIME_API=…/.rt/<function>)
  this driver ........ the only piece AWS does that moto does not: the SQS → Lambda event source mapping
                       (poll a queue, invoke the function with a real-shaped SQS batch, delete what the
                       function did not report in batchItemFailures; messages left behind are redelivered
                       and, after maxReceiveCount, moved to the DLQ by moto)

  python3 local_stack.py run --bin-dir DIR --db FILE --broker HOST:PORT FILE...
      start moto + watch + functions, upload FILEs, drive until every upload has its SecurityScanCompleted
      event on the topic, print the events read back from Kafka and the verdicts, stop everything
      (--keep leaves it running; --latency prints upload → last-event times; --json FILE writes a summary).
"""
import argparse, json, os, signal, socket, subprocess, sys, threading, time, urllib.request

import boto3
from botocore.config import Config

ARTIFACTS, RESULTS, QUARANTINE = "portcullis-artifacts", "portcullis-results", "portcullis-quarantine"
TOPIC = "security-events"
SLOTS = {"vuln": "vuln-scan", "license": "license-scan", "malware": "malware-scan", "secrets": "secret-scan"}
VULN_DB_KEY = "vulndb/osv.db"


def log(msg):
    print(f"local-stack: {msg}", file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_http(url, seconds=30):
    end = time.time() + seconds
    while time.time() < end:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return  # something answers
        except Exception:
            time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {url}")


class Aws:
    def __init__(self, endpoint):
        kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                  aws_secret_access_key="test", config=Config(retries={"max_attempts": 3}))
        self.s3, self.sqs, self.events = (boto3.client(n, **kw) for n in ("s3", "sqs", "events"))
        self._urls = {}

    def url(self, name):
        if name not in self._urls:
            self._urls[name] = self.sqs.get_queue_url(QueueName=name)["QueueUrl"]
        return self._urls[name]

    def arn(self, name):
        return self.sqs.get_queue_attributes(QueueUrl=self.url(name), AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]

    def queue(self, name, dlq=None, max_receive=3):
        attrs = {"VisibilityTimeout": "120"}
        if dlq:
            attrs["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": self.arn(dlq),
                                                 "maxReceiveCount": str(max_receive)})
        self.sqs.create_queue(QueueName=name, Attributes=attrs)

    def rule(self, name, bucket, prefix, targets):
        pattern = {"source": ["aws.s3"], "detail-type": ["Object Created"],
                   "detail": {"bucket": {"name": [bucket]}, "object": {"key": [{"prefix": prefix}]}}}
        self.events.put_rule(Name=name, EventPattern=json.dumps(pattern), State="ENABLED")
        self.events.put_targets(Rule=name, Targets=[{"Id": t, "Arn": self.arn(t)} for t in targets])

    def setup(self, slots):
        """Buckets, queues and rules as template.yaml declares them."""
        for b in (ARTIFACTS, RESULTS, QUARANTINE):
            self.s3.create_bucket(Bucket=b)
        self.s3.put_bucket_versioning(Bucket=ARTIFACTS, VersioningConfiguration={"Status": "Enabled"})
        for b in (ARTIFACTS, RESULTS):
            self.s3.put_bucket_notification_configuration(
                Bucket=b, NotificationConfiguration={"EventBridgeConfiguration": {}})
        self.queue("portcullis-fan-in-dlq")
        self.queue("portcullis-fan-in", "portcullis-fan-in-dlq")
        self.queue("portcullis-publisher-dlq")
        self.queue("portcullis-publisher", "portcullis-publisher-dlq")
        for slot in slots:
            self.queue(f"portcullis-{slot}-dlq")
            self.queue(f"portcullis-{slot}", f"portcullis-{slot}-dlq")
        self.rule("portcullis-artifact-created", ARTIFACTS, "", [f"portcullis-{s}" for s in slots])
        self.rule("portcullis-result-created", RESULTS, "results/", ["portcullis-fan-in"])
        self.rule("portcullis-chain-created", RESULTS, "chains/", ["portcullis-publisher"])


class Stack:
    def __init__(self, args):
        self.args = args
        self.dir = args.dir
        os.makedirs(self.dir, exist_ok=True)
        self.procs = []
        self.stop = threading.Event()
        self.invocations = []  # (function, ms, ok)
        self.lock = threading.Lock()

    # -------------------------------------------------------------- processes
    def spawn(self, name, cmd, env=None):
        out = open(os.path.join(self.dir, f"{name}.log"), "w")
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self.procs.append((name, p))
        return p

    def shutdown(self):
        for name, p in reversed(self.procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for name, p in self.procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)

    def check_alive(self):
        """A function or server that died is an error with its log, not a silent wait until the timeout."""
        for name, p in self.procs:
            if p.poll() is not None:
                with open(os.path.join(self.dir, f"{name}.log"), errors="replace") as f:
                    tail = "".join(f.readlines()[-15:])
                raise SystemExit(f"{name} exited with status {p.returncode}; last log lines:\n{tail}")

    def start_moto(self):
        port = self.args.moto_port or free_port()
        self.endpoint = f"http://127.0.0.1:{port}"
        self.spawn("moto", [self.args.moto_server, "-H", "127.0.0.1", "-p", str(port)])
        wait_http(f"{self.endpoint}/moto-api/")
        log(f"moto_server (S3, SQS, EventBridge) on {self.endpoint}")

    def start_watch(self):
        self.watch_port = self.args.watch_port or free_port()
        self.spawn("watch", ["cargo", "lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1",
                             "-P", str(self.watch_port)])
        end = time.time() + 60
        while time.time() < end:
            try:
                socket.create_connection(("127.0.0.1", self.watch_port), 0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise SystemExit("cargo lambda watch did not start (see watch.log)")
        log(f"cargo lambda watch (Lambda Runtime API only) on 127.0.0.1:{self.watch_port}")

    def function_env(self, fn):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "KAFKA_", "CARGO_"))}
        env.update({
            "AWS_ENDPOINT_URL": self.endpoint, "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_LAMBDA_RUNTIME_API": f"http://127.0.0.1:{self.watch_port}/.rt/{fn}",
            "AWS_LAMBDA_FUNCTION_NAME": fn, "AWS_LAMBDA_FUNCTION_VERSION": "1",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "2048",
            "RESULTS_BUCKET": RESULTS, "RUST_LOG": os.environ.get("RUST_LOG", "info"),
        })
        if self.args.policy:
            env["POLICY_URI"] = self.args.policy
        if fn in SLOTS.values():
            env.update({"ARTIFACT_PREFIX": "", "SCAN_DEADLINE_MARGIN_MS": "20000"})
        if fn == "vuln-scan":
            env.update({"VULN_DB_URI": f"s3://{RESULTS}/{VULN_DB_KEY}",
                        "VULN_DB_CACHE_DIR": os.path.join(self.dir, "vulndb-cache")})
        if fn == "fan-in":
            env.update({"ENABLED_TOOLS": ",".join(self.args.tools),
                        "TOOL_DLQS": ",".join(f"{s}=portcullis-{s}-dlq" for s in self.args.tools),
                        "QUARANTINE_MODE": "tag"})
        if fn == "publisher":
            env.update({"KAFKA_BOOTSTRAP_SERVERS": self.args.broker, "KAFKA_AUTH": "plaintext",
                        "KAFKA_TOPIC": TOPIC})
        return env

    def start_functions(self):
        self.functions = [SLOTS[s] for s in self.args.tools] + ["fan-in", "publisher"]
        for fn in self.functions:
            binary = os.path.join(self.args.bin_dir, fn)
            if not os.access(binary, os.X_OK):
                raise SystemExit(f"missing function binary {binary} (cargo build -p {fn})")
            self.spawn(fn, [binary], env=self.function_env(fn))
        log(f"functions: {', '.join(self.functions)} (logs in {self.dir})")

    # ---------------------------------------------------------------- invoke
    def invoke(self, fn, event):
        url = f"http://127.0.0.1:{self.watch_port}/2015-03-31/functions/{fn}/invocations"
        req = urllib.request.Request(url, data=json.dumps(event).encode(), method="POST",
                                     headers={"content-type": "application/json"})
        t0 = time.time()
        try:
            with urllib.request.urlopen(req, timeout=900) as r:
                body, ok = r.read(), True
        except urllib.error.HTTPError as e:
            body, ok = e.read(), False
        ms = (time.time() - t0) * 1000
        with self.lock:
            self.invocations.append((fn, ms, ok))
        try:
            resp = json.loads(body) if body else {}
        except json.JSONDecodeError:
            resp = {"raw": body.decode(errors="replace")[:300]}
        if not ok:
            log(f"{fn}: invocation failed after {ms:.0f} ms: {json.dumps(resp)[:300]}")
            return None
        return resp

    def pump(self, qname, fn):
        """The SQS event source mapping for one queue (batch size 10, partial batch responses)."""
        aws = Aws(self.endpoint)
        qurl, qarn = aws.url(qname), aws.arn(qname)
        while not self.stop.is_set():
            msgs = aws.sqs.receive_message(QueueUrl=qurl, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                           AttributeNames=["All"]).get("Messages", [])
            if not msgs:
                continue
            event = {"Records": [{
                "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                "attributes": {k: str(v) for k, v in m.get("Attributes", {}).items()},
                "messageAttributes": {}, "md5OfBody": m.get("MD5OfBody", ""), "eventSource": "aws:sqs",
                "eventSourceARN": qarn, "awsRegion": "us-east-1"} for m in msgs]}
            resp = self.invoke(fn, event)
            if resp is None:
                continue  # whole batch failed: redelivered after the visibility timeout, then the DLQ
            failed = {f["itemIdentifier"] for f in resp.get("batchItemFailures", [])}
            for m in msgs:
                if m["MessageId"] not in failed:
                    aws.sqs.delete_message(QueueUrl=qurl, ReceiptHandle=m["ReceiptHandle"])
            if failed:
                log(f"{fn}: {len(failed)} of {len(msgs)} message(s) reported failed; left for redelivery")

    def start_pumps(self):
        routes = [(f"portcullis-{s}", SLOTS[s]) for s in self.args.tools]
        routes += [("portcullis-fan-in", "fan-in")] + [(f"portcullis-{s}-dlq", "fan-in") for s in self.args.tools]
        routes += [("portcullis-publisher", "publisher")]
        for qname, fn in routes:
            threading.Thread(target=self.pump, args=(qname, fn), daemon=True).start()

    # ----------------------------------------------------------------- kafka
    def start_consumer(self):
        """Reads the topic from the beginning in the background, stamping each event's arrival time."""
        from confluent_kafka import Consumer
        self.events, self.done_at = [], {}
        ready = threading.Event()

        def loop():
            c = Consumer({"bootstrap.servers": self.args.broker, "group.id": f"local-stack-{time.time_ns()}",
                          "auto.offset.reset": "earliest", "enable.auto.commit": False})
            c.subscribe([TOPIC], on_assign=lambda *_: ready.set())
            try:
                while not self.stop.is_set():
                    m = c.poll(0.1)
                    if m is None or m.error():
                        continue
                    ev = json.loads(m.value())
                    ev["_received"] = time.time()
                    with self.lock:
                        self.events.append(ev)
                        if ev.get("event_type") == "security_scan_completed":
                            self.done_at[ev["artifact"]["artifact_id"]] = ev["_received"]
            finally:
                c.close()

        threading.Thread(target=loop, daemon=True).start()
        if not ready.wait(30):
            raise SystemExit(f"no partition assignment from the broker {self.args.broker} in 30 s")


def describe(ev):
    t = ev.get("event_type")
    if t == "vulnerability_detected":
        v = ev["vulnerability"]
        p = v.get("package", {})
        return f"{v.get('advisory_id')} in {p.get('name')} {p.get('version')} severity={ev.get('severity')}"
    if t == "artifact_quarantined":
        return f"reason={ev.get('reason')} risk={ev.get('risk_score')}"
    if t == "license_violation":
        return f"{ev.get('license')} rule={ev.get('policy', {}).get('rule')} at {ev.get('location')}"
    if t == "secret_exposed":
        return f"rule={ev.get('rule_id')} at {ev.get('location')}:{ev.get('line')} fingerprint={ev.get('fingerprint')}"
    if t == "malware_detected":
        return f"rule={ev.get('malware', {}).get('rule')} at {ev.get('location')}"
    if t == "security_scan_completed":
        r = ev.get("scan_result", {})
        return f"verdict={r.get('verdict')} risk={r.get('risk_score')} tools={r.get('tools')} " \
               f"duration={ev.get('duration_ms')} ms"
    return json.dumps({k: v for k, v in ev.items() if not k.startswith("_") and k != "artifact"})[:160]


def run(args):
    stack = Stack(args)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        stack.start_moto()
        aws = Aws(stack.endpoint)
        aws.setup(args.tools)
        if "vuln" in args.tools:
            aws.s3.upload_file(args.db, RESULTS, VULN_DB_KEY)
        stack.start_watch()
        stack.start_functions()
        stack.start_pumps()
        stack.start_consumer()

        uploads = {}  # artifact key → (upload time, version id)
        for path in args.files:
            key = "samples/" + os.path.basename(path)
            t0 = time.time()
            with open(path, "rb") as f:
                r = aws.s3.put_object(Bucket=ARTIFACTS, Key=key, Body=f)
            uploads[key] = (t0, r.get("VersionId"), os.path.getsize(path))
            log(f"uploaded s3://{ARTIFACTS}/{key} ({os.path.getsize(path)} bytes)")

        # The artifact id is computed by the pipeline; map it back through the chains it writes.
        deadline = time.time() + args.timeout
        ids = {}
        while time.time() < deadline and len(ids) < len(uploads):
            stack.check_alive()
            for o in aws.s3.list_objects_v2(Bucket=RESULTS, Prefix="chains/").get("Contents", []):
                if o["Key"].endswith(".sbom.json") or o["Key"] in ids.values():
                    continue
                chain = json.loads(aws.s3.get_object(Bucket=RESULTS, Key=o["Key"])["Body"].read())
                art = chain.get("artifact", {})
                if art.get("key") in uploads:
                    ids[art["key"]] = chain.get("artifact_id") or o["Key"][len("chains/"):-len(".json")]
            time.sleep(0.2)
        while time.time() < deadline:
            stack.check_alive()
            with stack.lock:
                if all(ids.get(k) in stack.done_at for k in uploads):
                    break
            time.sleep(0.1)
        time.sleep(0.5)  # stragglers after the last completion event
        with stack.lock:
            events, done_at = list(stack.events), dict(stack.done_at)
        missing = [k for k in uploads if ids.get(k) not in done_at]

        print(f"\nSecurityEvents read back from topic '{TOPIC}' on {args.broker}:")
        by_id = {}
        for ev in events:
            by_id.setdefault(ev["artifact"]["artifact_id"], []).append(ev)
        name_of = {v: k for k, v in ids.items()}
        for aid, evs in by_id.items():
            print(f"\n  {name_of.get(aid, aid)}  (key {aid})")
            for ev in evs:
                print(f"    {ev.get('event_type'):<24} {describe(ev)}")
        print(f"\n{'ARTIFACT':<44} {'VERDICT':<12} {'STATUS TAG':<12} {'EVENTS':>6} {'UPLOAD→LAST EVENT':>18}")
        summary = []
        for key, (t0, version, size) in uploads.items():
            aid = ids.get(key)
            evs = by_id.get(aid, [])
            verdict = next((e["scan_result"]["verdict"] for e in evs
                            if e.get("event_type") == "security_scan_completed"), "-")
            try:
                tags = {t["Key"]: t["Value"] for t in aws.s3.get_object_tagging(
                    Bucket=ARTIFACTS, Key=key, VersionId=version)["TagSet"]}
            except Exception:
                tags = {}
            last = max((e["_received"] for e in evs), default=None)
            lat = f"{last - t0:.2f} s" if last else "-"
            print(f"{key:<44} {verdict:<12} {tags.get('portcullis-status', '-'):<12} {len(evs):>6} {lat:>18}")
            summary.append({"key": key, "size": size, "artifact_id": aid, "verdict": verdict,
                            "status_tag": tags.get("portcullis-status"), "events": len(evs),
                            "upload_to_last_event_s": None if last is None else round(last - t0, 3)})
        with stack.lock:
            inv = list(stack.invocations)
        fails = sum(1 for _, _, ok in inv if not ok)
        print(f"\n{len(inv)} invocations ({fails} failed); logs in {args.dir}")
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"artifacts": summary, "invocations": len(inv), "failed_invocations": fails,
                           "events": [{k: v for k, v in e.items() if not k.startswith("_")} for e in events]},
                          f, indent=1)
        if missing:
            print(f"NOT COMPLETED within {args.timeout} s: {', '.join(missing)}", file=sys.stderr)
            return 1
        if args.keep:
            log(f"--keep: running (moto {stack.endpoint}, runtime API 127.0.0.1:{stack.watch_port}); Ctrl-C stops")
            signal.sigwait({signal.SIGINT, signal.SIGTERM})
        return 0
    finally:
        stack.stop.set()
        stack.shutdown()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("files", nargs="+")
    r.add_argument("--bin-dir", required=True, help="directory holding the built function binaries")
    r.add_argument("--db", required=True, help="OSV index (portcullis db build)")
    r.add_argument("--broker", required=True, help="Kafka bootstrap HOST:PORT")
    r.add_argument("--moto-server", default="moto_server")
    r.add_argument("--moto-port", type=int, default=0)
    r.add_argument("--watch-port", type=int, default=0)
    r.add_argument("--tools", default="vuln,license,malware,secrets")
    r.add_argument("--policy", default="", help="POLICY_URI for the functions (default: embedded policy)")
    r.add_argument("--dir", default="/tmp/portcullis-stack")
    r.add_argument("--timeout", type=float, default=600)
    r.add_argument("--json", help="write a JSON summary here")
    r.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    args.tools = [t for t in args.tools.split(",") if t]
    unknown = [t for t in args.tools if t not in SLOTS]
    if unknown:
        ap.error(f"unknown tool slot(s) {unknown}; known: {sorted(SLOTS)}")
    sys.exit(run(args))


if __name__ == "__main__":
    main()
