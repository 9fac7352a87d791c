#!/usr/bin/env python3
"""Cold starts of the pipeline functions, measured on real processes against real servers.

For each repetition a sample is uploaded to moto (S3 + EventBridge + SQS wired like template.yaml, see
local_stack.py); then every stage runs as a *fresh process* of its release binary against a minimal Lambda
Runtime API served here (the same HTTP protocol as Lambda's), fed with the real SQS batch that moto
delivered for that stage:

  tool functions (vuln-scan, license-scan, malware-scan, secret-scan) ← artifacts "Object Created"
  fan-in                                                                ← the four results/… "Object Created"
  publisher (to the tansu broker)                                       ← chains/… "Object Created"

Per process it records: init = spawn → first GET /next (config, AWS SDK, rule/regex compilation), first
invoke = /next → response POSTed (includes the per-container loads: OSV index download + open, policy),
and total. This is the cold start a Lambda sandbox adds on top of its own (image/zip download, Firecracker
boot), which nothing local can measure.

  python3 bench_coldstart.py --bin-dir DIR --db FILE --broker HOST:PORT --moto-server BIN [--reps N] FILE
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, threading, time, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from local_stack import ARTIFACTS, RESULTS, SLOTS, VULN_DB_KEY, Aws, Stack, log  # noqa: E402


class RuntimeApi:
    """One invocation's worth of the Lambda Runtime API: serves `event` once, then holds /next open."""

    def __init__(self, event):
        self.event = json.dumps(event).encode()
        self.request_id = str(uuid.uuid4())
        self.first_next = self.response_at = None
        self.response = None
        self.error = None
        self.served = False
        self.done = threading.Event()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                if not self.path.endswith("/runtime/invocation/next"):
                    return self.send_error(404)
                if api.served:  # the second /next of a container: park it until we kill the process
                    api.done.wait(600)
                    return self.send_error(410)
                api.first_next, api.served = time.perf_counter(), True
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Lambda-Runtime-Aws-Request-Id", api.request_id)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 900_000))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn",
                                 "arn:aws:lambda:us-east-1:123456789012:function:bench")
                self.send_header("Content-Length", str(len(api.event)))
                self.end_headers()
                self.wfile.write(api.event)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if self.path.endswith("/response"):
                    api.response_at, api.response = time.perf_counter(), json.loads(body or b"null")
                else:  # /error or /init/error
                    api.response_at, api.error = time.perf_counter(), body.decode(errors="replace")[:500]
                api.done.set()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.addr = f"127.0.0.1:{self.server.server_address[1]}"


def sqs_batch(aws, qname, expect, timeout=30):
    """Receives `expect` messages that moto delivered to `qname` and shapes them as Lambda's SQS event."""
    qurl, qarn, msgs = aws.url(qname), aws.arn(qname), []
    end = time.time() + timeout
    while len(msgs) < expect and time.time() < end:
        msgs += aws.sqs.receive_message(QueueUrl=qurl, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                        AttributeNames=["All"]).get("Messages", [])
    if len(msgs) < expect:
        raise SystemExit(f"{qname}: {len(msgs)} of {expect} message(s) within {timeout} s")
    for m in msgs:
        aws.sqs.delete_message(QueueUrl=qurl, ReceiptHandle=m["ReceiptHandle"])
    return {"Records": [{
        "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
        "attributes": {k: str(v) for k, v in m.get("Attributes", {}).items()}, "messageAttributes": {},
        "md5OfBody": m.get("MD5OfBody", ""), "eventSource": "aws:sqs", "eventSourceARN": qarn,
        "awsRegion": "us-east-1"} for m in msgs]}


def cold_invoke(stack, fn, event, log_dir, rep):
    api = RuntimeApi(event)
    env = stack.function_env(fn)
    env["AWS_LAMBDA_RUNTIME_API"] = api.addr
    env["RUST_LOG"] = os.environ.get("BENCH_RUST_LOG", "warn")  # e.g. info: timings in the per-run logs
    if fn == "vuln-scan":  # a new sandbox has an empty /tmp: the index is downloaded every time
        env["VULN_DB_CACHE_DIR"] = tempfile.mkdtemp(prefix="vulndb-", dir=log_dir)
    with open(os.path.join(log_dir, f"{fn}.{rep}.log"), "w") as out:
        t0 = time.perf_counter()
        p = subprocess.Popen([os.path.join(stack.args.bin_dir, fn)], env=env, stdout=out,
                             stderr=subprocess.STDOUT)
        while not api.done.wait(0.05):
            if p.poll() is not None:
                raise SystemExit(f"{fn} exited with {p.returncode} before responding (log {out.name})")
            if time.perf_counter() - t0 > 300:
                p.kill()
                raise SystemExit(f"{fn}: no response within 300 s")
        p.kill()
        p.wait()
    api.server.shutdown()
    if api.error or api.first_next is None:
        raise SystemExit(f"{fn}: invocation error {api.error}")
    failures = (api.response or {}).get("batchItemFailures") or []
    if failures:
        raise SystemExit(f"{fn}: batch item failures {failures}")
    return {"init_ms": (api.first_next - t0) * 1000, "invoke_ms": (api.response_at - api.first_next) * 1000,
            "total_ms": (api.response_at - t0) * 1000}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--broker", required=True)
    ap.add_argument("--moto-server", required=True)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--dir", default="/tmp/portcullis-coldstart")
    ap.add_argument("--json")
    ap.add_argument("file")
    a = ap.parse_args()
    a.tools, a.policy, a.moto_port = list(SLOTS), None, None
    os.makedirs(a.dir, exist_ok=True)

    stack = Stack(a)
    stack.watch_port = 0  # unused: each process gets its own Runtime API below
    samples = {fn: [] for fn in list(SLOTS.values()) + ["fan-in", "publisher"]}
    try:
        stack.start_moto()
        aws = Aws(stack.endpoint)
        aws.setup(a.tools)
        aws.s3.upload_file(a.db, RESULTS, VULN_DB_KEY)
        size = os.path.getsize(a.file)
        for rep in range(a.reps):
            key = f"bench/{rep}/{os.path.basename(a.file)}"
            aws.s3.upload_file(a.file, ARTIFACTS, key)
            for slot, fn in SLOTS.items():
                samples[fn].append(cold_invoke(stack, fn, sqs_batch(aws, f"portcullis-{slot}", 1), a.dir, rep))
            samples["fan-in"].append(cold_invoke(stack, "fan-in", sqs_batch(aws, "portcullis-fan-in", len(SLOTS)),
                                                 a.dir, rep))
            samples["publisher"].append(cold_invoke(stack, "publisher", sqs_batch(aws, "portcullis-publisher", 1),
                                                    a.dir, rep))
            log(f"repetition {rep + 1}/{a.reps} done")
    finally:
        stack.shutdown()

    rows = {}
    print(f"\ncold start per function, {a.reps} fresh processes each, artifact {os.path.basename(a.file)} "
          f"({size} bytes); medians (min–max) in ms")
    print(f"{'function':<14} {'binary MB':>9} {'init':>18} {'first invoke':>20} {'total':>20}")
    for fn, xs in samples.items():
        mb = os.path.getsize(os.path.join(a.bin_dir, fn)) / 1e6
        cols = {}
        for k in ("init_ms", "invoke_ms", "total_ms"):
            v = [x[k] for x in xs]
            cols[k] = {"median": statistics.median(v), "min": min(v), "max": max(v)}
        rows[fn] = {"binary_mb": mb, **cols}
        fmt = lambda c: f"{c['median']:7.1f} ({c['min']:.0f}–{c['max']:.0f})"  # noqa: E731
        print(f"{fn:<14} {mb:>9.1f} {fmt(cols['init_ms']):>18} {fmt(cols['invoke_ms']):>20} "
              f"{fmt(cols['total_ms']):>20}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"artifact": os.path.basename(a.file), "bytes": size, "reps": a.reps, "functions": rows}, f,
                      indent=2)


if __name__ == "__main__":
    main()
