#!/usr/bin/env python3
"""Independent reference for the MSK IAM token signature (shared/kafka/src/msk_iam.rs tests).

Presigns GET https://kafka.<region>.amazonaws.com/?Action=kafka-cluster:Connect with botocore's
SigV4QueryAuth (service kafka-cluster, 900 s) at a fixed time with the static test credentials, the way
AWS's Python MSK signer does, and prints the X-Amz-Signature values the Rust tests expect.
Run: python3 scripts/msk_iam_reference.py   (needs botocore)
"""
import datetime

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

FIXED = datetime.datetime(2024, 1, 2, 3, 4, 5)


class _FixedDatetime(datetime.datetime):
    @classmethod
    def utcnow(cls):
        return FIXED

    @classmethod
    def now(cls, tz=None):
        return FIXED.replace(tzinfo=tz) if tz else FIXED


botocore.auth.datetime.datetime = _FixedDatetime


def presign(token=None, region="eu-west-1"):
    creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    req = AWSRequest(method="GET", url=f"https://kafka.{region}.amazonaws.com/",
                     params={"Action": "kafka-cluster:Connect"})
    botocore.auth.SigV4QueryAuth(creds, "kafka-cluster", region, expires=900).add_auth(req)
    return req.url


for label, tok in (("EXPECTED_SIGNATURE", None), ("EXPECTED_SIGNATURE_WITH_SESSION", "FwoGZXIvYXdzEXAMPLE/+=")):
    url = presign(tok)
    sig = url.rsplit("X-Amz-Signature=", 1)[1]
    print(f"# {url}")
    print(f'const {label}: &str = "{sig}";')
