#!/usr/bin/env python3
"""Cold start of the publisher function, measured locally: process start → first response.

Serves the Lambda Runtime API (the three endpoints a custom runtime uses: next invocation, response,
error) on 127.0.0.1, stores a chain in a local S3 (moto_server, started here) and starts the `publisher`
binary with AWS_LAMBDA_RUNTIME_API pointing at it; the broker must already run (scripts/start-broker.sh).
Prints init (process start → first GET /next) and cold start (process start → response posted), then the
same for a warm second invocation.

  scripts/bench-publisher-coldstart.py TARGET_DIR/release/publisher 127.0.0.1:19092 [RUNS]
"""
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import boto3
from botocore.config import Config


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"port {port} not open")


class Rapi(http.server.BaseHTTPRequestHandler):
    events = []          # payloads to hand out
    marks = {}           # name -> perf_counter
    responses = []
    done = threading.Event()

    def log_message(self, *a):
        pass

    def do_GET(self):
        if self.path.endswith("/runtime/invocation/next"):
            n = len(Rapi.responses)
            Rapi.marks.setdefault(f"next{n}", time.perf_counter())
            if n >= len(Rapi.events):
                Rapi.done.set()
                time.sleep(3600)
                return
            body = json.dumps(Rapi.events[n]).encode()
            self.send_response(200)
            self.send_header("Lambda-Runtime-Aws-Request-Id", f"req-{n}")
            self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
            self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:publisher")
            self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length).decode()
        kind = "error" if "/error" in self.path else "response"
        Rapi.marks[f"resp{len(Rapi.responses)}"] = time.perf_counter()
        Rapi.responses.append((kind, body))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()
        if len(Rapi.responses) >= len(Rapi.events):
            Rapi.done.set()


def main():
    binary, bootstrap = sys.argv[1], sys.argv[2]
    s3_port = free_port()
    moto = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(s3_port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(s3_port)
        endpoint = f"http://127.0.0.1:{s3_port}"
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test",
                          config=Config(s3={"addressing_style": "path"}))
        s3.create_bucket(Bucket="results")
        chain = json.load(open(os.environ.get("CHAIN_JSON", "shared/kafka/tests/data/chain.json")))
        key = f"chains/{chain['artifact_id']}.json"
        s3.put_object(Bucket="results", Key=key, Body=json.dumps(chain).encode())
        event = {"version": "0", "id": "eb-1", "detail-type": "Object Created", "source": "aws.s3",
                 "account": "123456789012", "time": "2026-01-02T03:04:05Z", "region": "us-east-1",
                 "resources": ["arn:aws:s3:::results"],
                 "detail": {"version": "0", "bucket": {"name": "results"},
                            "object": {"key": key, "size": 1, "etag": "x", "sequencer": "01"},
                            "request-id": "r", "requester": "1", "reason": "PutObject"}}
        Rapi.events = [event, event]
        port = free_port()
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Rapi)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        env = dict(os.environ,
                   AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{port}", AWS_LAMBDA_FUNCTION_NAME="publisher",
                   AWS_LAMBDA_FUNCTION_MEMORY_SIZE="512", AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
                   AWS_LAMBDA_LOG_STREAM_NAME="local", AWS_LAMBDA_LOG_GROUP_NAME="local",
                   RESULTS_BUCKET="results", AWS_ENDPOINT_URL=endpoint, AWS_REGION="us-east-1",
                   AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_EC2_METADATA_DISABLED="true",
                   KAFKA_BOOTSTRAP_SERVERS=bootstrap, KAFKA_AUTH="plaintext",
                   KAFKA_TOPIC=os.environ.get("KAFKA_TOPIC", "security-events"), RUST_LOG="warn")
        t0 = time.perf_counter()
        proc = subprocess.Popen([binary], env=env)
        ok = Rapi.done.wait(60)
        proc.terminate()
        proc.wait(10)
        srv.shutdown()
        if not ok:
            raise SystemExit("no response within 60 s")
        m = Rapi.marks
        for kind, body in Rapi.responses:
            print(f"{kind}: {body}")
        print(f"init_ms={1000 * (m['next0'] - t0):.0f} "
              f"cold_start_to_first_response_ms={1000 * (m['resp0'] - t0):.0f} "
              f"warm_invocation_ms={1000 * (m['resp1'] - m['next1']):.0f}")
        if any(k != "response" for k, _ in Rapi.responses):
            raise SystemExit(1)
    finally:
        moto.terminate()


if __name__ == "__main__":
    main()
