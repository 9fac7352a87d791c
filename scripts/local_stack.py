#!/usr/bin/env python3
"""Portcullis local stack: wires moto_server like template.yaml and drives the functions.

  setup   create buckets/queues/rules on the moto endpoint, mirroring template.yaml
          (artifacts bucket with EventBridge notifications → rule → one SQS queue per tool (+DLQ),
          results/ → fan-in queue, chains/ → publisher queue; tool DLQs are read by the fan-in)
  upload  upload files (the bundled samples/) to the artifacts bucket
  drive   poll the queues and invoke the functions through the Lambda Runtime API emulated by
          `cargo lambda watch` (`cargo lambda invoke --data-file`) with real-shaped SQS batch events;
          a message is deleted only when the function did not report it in batchItemFailures
  chains  print the verdicts (chains/) and status tags

Env: PORTCULLIS_S3_ENDPOINT (default http://127.0.0.1:5055), PORTCULLIS_WATCH_PORT (default 9310),
     PORTCULLIS_LOCAL_DIR (scratch + logs, default /tmp/portcullis-local).
"""
import json, os, subprocess, sys, time, uuid

import boto3

EP = os.environ.get("PORTCULLIS_S3_ENDPOINT", "http://127.0.0.1:5055")
PORT = os.environ.get("PORTCULLIS_WATCH_PORT", "9310")
DIR = os.environ.get("PORTCULLIS_LOCAL_DIR", "/tmp/portcullis-local")
ARTIFACTS, RESULTS, QUARANTINE = "portcullis-artifacts", "portcullis-results", "portcullis-quarantine"
TOOLS = {"vuln": "vuln-scan", "license": "license-scan", "malware": "malware-scan", "secrets": "secret-scan"}
KW = dict(endpoint_url=EP, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
s3, sqs, events = boto3.client("s3", **KW), boto3.client("sqs", **KW), boto3.client("events", **KW)


def queue(name, dlq=None, max_receive=3):
    attrs = {"VisibilityTimeout": "60"}
    if dlq:
        attrs["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": arn(dlq), "maxReceiveCount": str(max_receive)})
    return sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]


def url(name):
    return sqs.get_queue_url(QueueName=name)["QueueUrl"]


def arn(name):
    return sqs.get_queue_attributes(QueueUrl=url(name), AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def rule(name, bucket, prefix, targets):
    pattern = {"source": ["aws.s3"], "detail-type": ["Object Created"],
               "detail": {"bucket": {"name": [bucket]}, "object": {"key": [{"prefix": prefix}]}}}
    events.put_rule(Name=name, EventPattern=json.dumps(pattern), State="ENABLED")
    events.put_targets(Rule=name, Targets=[{"Id": t, "Arn": arn(t)} for t in targets])


def setup(enabled):
    for b in (ARTIFACTS, RESULTS, QUARANTINE):
        s3.create_bucket(Bucket=b)
    s3.put_bucket_versioning(Bucket=ARTIFACTS, VersioningConfiguration={"Status": "Enabled"})
    for b in (ARTIFACTS, RESULTS):
        s3.put_bucket_notification_configuration(Bucket=b, NotificationConfiguration={"EventBridgeConfiguration": {}})
    queue("portcullis-fan-in-dlq")
    queue("portcullis-fan-in", "portcullis-fan-in-dlq")
    queue("portcullis-publisher-dlq")
    queue("portcullis-publisher", "portcullis-publisher-dlq")
    for slot in enabled:
        queue(f"portcullis-{slot}-dlq", "portcullis-fan-in-dlq", 5)
        queue(f"portcullis-{slot}", f"portcullis-{slot}-dlq")
    rule("portcullis-artifact-created", ARTIFACTS, "", [f"portcullis-{s}" for s in enabled])
    rule("portcullis-result-created", RESULTS, "results/", ["portcullis-fan-in"])
    rule("portcullis-chain-created", RESULTS, "chains/", ["portcullis-publisher"])
    print(json.dumps({"endpoint": EP, "artifacts": ARTIFACTS, "results": RESULTS, "tools": enabled}))


def sqs_event(queue_name, msgs):
    qarn = arn(queue_name)
    return {"Records": [{
        "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
        "attributes": {k: str(v) for k, v in m.get("Attributes", {}).items()},
        "messageAttributes": {}, "md5OfBody": m.get("MD5OfBody", ""), "eventSource": "aws:sqs",
        "eventSourceARN": qarn, "awsRegion": "us-east-1"} for m in msgs]}


def invoke(function, event):
    os.makedirs(DIR, exist_ok=True)
    path = os.path.join(DIR, f"event-{uuid.uuid4().hex}.json")
    with open(path, "w") as f:
        json.dump(event, f)
    t0 = time.time()
    p = subprocess.run(["cargo", "lambda", "invoke", function, "--data-file", path, "--invoke-address", "127.0.0.1",
                        "--invoke-port", PORT, "--output-format", "json"], capture_output=True, text=True)
    os.unlink(path)
    ms = int((time.time() - t0) * 1000)
    if p.returncode != 0:
        print(f"  {function}: invoke failed ({ms} ms): {p.stderr.strip()[-400:]}")
        return None
    try:
        resp = json.loads(p.stdout)
    except json.JSONDecodeError:
        resp = {"raw": p.stdout}
    print(f"  {function}: {ms} ms → {json.dumps(resp)[:200]}")
    return resp


def drive(enabled, seconds, functions_available):
    routes = [(f"portcullis-{s}", TOOLS[s]) for s in enabled]
    routes += [("portcullis-fan-in", "fan-in")] + [(f"portcullis-{s}-dlq", "fan-in") for s in enabled]
    if "publisher" in functions_available:
        routes.append(("portcullis-publisher", "publisher"))
    deadline = time.time() + seconds
    idle = 0
    while time.time() < deadline and idle < 3:
        busy = False
        for qname, fn in routes:
            if fn not in functions_available:
                continue
            msgs = sqs.receive_message(QueueUrl=url(qname), MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                       AttributeNames=["All"]).get("Messages", [])
            if not msgs:
                continue
            busy = True
            print(f"{qname}: {len(msgs)} message(s) → {fn}")
            resp = invoke(fn, sqs_event(qname, msgs))
            if resp is None:
                continue  # left for redelivery
            failed = {f["itemIdentifier"] for f in resp.get("batchItemFailures", [])}
            for m in msgs:
                if m["MessageId"] not in failed:
                    sqs.delete_message(QueueUrl=url(qname), ReceiptHandle=m["ReceiptHandle"])
        idle = 0 if busy else idle + 1
        if not busy:
            time.sleep(1)


def upload(paths):
    for p in paths:
        key = "samples/" + os.path.basename(p)
        with open(p, "rb") as f:
            s3.put_object(Bucket=ARTIFACTS, Key=key, Body=f.read())
        print(f"uploaded s3://{ARTIFACTS}/{key}")


def chains():
    out = s3.list_objects_v2(Bucket=RESULTS, Prefix="chains/").get("Contents", [])
    for o in out:
        c = json.loads(s3.get_object(Bucket=RESULTS, Key=o["Key"])["Body"].read())
        a = c["artifact"]
        try:
            tags = {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=a["bucket"], Key=a["key"],
                                                                          VersionId=a.get("version_id"))["TagSet"]}
        except Exception as e:  # moved or deleted
            tags = {"error": str(e)[:80]}
        print(f"{a['key']}: verdict={c['verdict']} risk={c['risk_score']} tools={sorted(c['results'])} "
              f"errors={sorted(c['errors'])} status_tag={tags.get('portcullis-status')}")
    print(f"{len(out)} chain(s)")


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else "help"
    enabled = [t for t in os.environ.get("ENABLED_TOOLS", "vuln,license,malware,secrets").split(",") if t]
    if cmd == "setup":
        setup(enabled)
    elif cmd == "upload":
        upload(sys.argv[2:])
    elif cmd == "drive":
        fns = os.environ.get("PORTCULLIS_FUNCTIONS", "vuln-scan,license-scan,malware-scan,secret-scan,fan-in,publisher")
        drive(enabled, int(os.environ.get("PORTCULLIS_DRIVE_SECONDS", "600")), set(fns.split(",")))
    elif cmd == "chains":
        chains()
    else:
        print(__doc__)
