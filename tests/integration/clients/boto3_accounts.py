"""boto3 over HTTPS with three keys of a daemon's --credentials: accounts kept apart.

python3 boto3_accounts.py ENDPOINT CA_BUNDLE. Keys (the test's credentials file):
AKIAALICE (account 111111111111, max_memory_mb = 256), AKIABOB (222222222222) and AKIAADMIN (the
daemon's own account, admin). Prints "ok" after every check passed.
"""
import io
import json
import ssl
import sys
import threading
import time
import urllib.error
import urllib.request
import zipfile

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from lambda_test_client import expect_error

endpoint, ca = sys.argv[1], sys.argv[2]
KEYS = {"alice": ("AKIAALICE", "alice-secret"), "bob": ("AKIABOB", "bob-secret"),
        "admin": ("AKIAADMIN", "admin-secret")}


def client(who):
    key, secret = KEYS[who]
    return boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1", verify=ca,
                        aws_access_key_id=key, aws_secret_access_key=secret,
                        config=Config(retries={"total_max_attempts": 1}, read_timeout=60))


alice, bob, admin = client("alice"), client("bob"), client("admin")
ALICE_ARN = "arn:aws:lambda:us-east-1:111111111111:function:shared"
BOB_ARN = "arn:aws:lambda:us-east-1:222222222222:function:shared"

code = io.BytesIO()
with zipfile.ZipFile(code, "w") as z:
    z.writestr("app.py", "import os, time\n"
                         "def handler(event, context):\n"
                         "    time.sleep(event.get('sleep', 0))\n"
                         "    return {'name': os.environ['AWS_LAMBDA_FUNCTION_NAME'],\n"
                         "            'group': os.environ['AWS_LAMBDA_LOG_GROUP_NAME'],\n"
                         "            'arn': context.invoked_function_arn}\n")


def create(c, name, **extra):
    return c.create_function(FunctionName=name, Runtime="python3.12", Handler="app.handler",
                             Role="arn:aws:iam::000000000000:role/x",
                             Code={"ZipFile": code.getvalue()}, MemorySize=128, **extra)


# The same name in two accounts: two functions, each ARN naming its account.
assert create(alice, "shared")["FunctionArn"] == ALICE_ARN
assert create(bob, "shared")["FunctionArn"] == BOB_ARN
assert [f["FunctionArn"] for f in alice.list_functions()["Functions"]] == [ALICE_ARN]
assert [f["FunctionArn"] for f in bob.list_functions()["Functions"]] == [BOB_ARN]
assert admin.list_functions()["Functions"] == []

# Another account's function does not exist for bob, by ARN or otherwise.
for call, kwargs in [(bob.get_function, {}), (bob.invoke, {}), (bob.delete_function, {}),
                     (bob.get_function_configuration, {}),
                     (bob.put_function_concurrency, {"ReservedConcurrentExecutions": 1})]:
    error = expect_error(bob.exceptions.ResourceNotFoundException, call,
                         FunctionName=ALICE_ARN, **kwargs)
    assert "111111111111" in error["Error"]["Message"], error

# Each sees its own function as its own: name, log group and invoked ARN.
for c, arn in [(alice, ALICE_ARN), (bob, BOB_ARN)]:
    out = json.loads(c.invoke(FunctionName="shared")["Payload"].read())
    assert out == {"name": "shared", "group": "/aws/lambda/shared", "arn": arn}, out

# Layers and dead-letter queues stay within the account.
layer = alice.publish_layer_version(LayerName="lib", Content={"ZipFile": code.getvalue()})
assert layer["LayerVersionArn"] == "arn:aws:lambda:us-east-1:111111111111:layer:lib:1", layer
assert bob.list_layers()["Layers"] == []
expect_error(bob.exceptions.InvalidParameterValueException, bob.update_function_configuration,
             FunctionName="shared", Layers=[layer["LayerVersionArn"]])
expect_error(bob.exceptions.InvalidParameterValueException, bob.update_function_configuration,
             FunctionName="shared",
             DeadLetterConfig={"TargetArn": "arn:aws:sqs:us-east-1:111111111111:q"})
expect_error(bob.exceptions.InvalidParameterValueException, bob.put_function_event_invoke_config,
             FunctionName="shared",
             DestinationConfig={"OnSuccess": {"Destination":
                                              "arn:aws:sqs:us-east-1:111111111111:q"}})

# Alice's share is 256 MB: two 128 MB environments busy at once fill it (her idle one makes
# room); a third is refused at once, while bob, uncapped, still runs.
create(alice, "sleepy", Timeout=10)
results = []
threads = [threading.Thread(target=lambda: results.append(
    alice.invoke(FunctionName="sleepy", Payload=b'{"sleep": 4}').get("FunctionError", "none")))
    for _ in range(2)]
for t in threads:
    t.start()
time.sleep(1.5)
throttled = expect_error(alice.exceptions.TooManyRequestsException, alice.invoke,
                         FunctionName="sleepy", Payload=b'{"sleep": 0}')
assert "Account 111111111111's memory share is full" in throttled["Error"]["Message"], throttled
assert bob.invoke(FunctionName="shared")["StatusCode"] == 200
for t in threads:
    t.join()
assert results == ["none", "none"], results


def signed_get(who, path):
    """(status, body, error type) of a GET signed by `who`'s key, as botocore signs."""
    key, secret = KEYS[who]
    request = AWSRequest(method="GET", url=endpoint + path)
    SigV4Auth(Credentials(key, secret), "lambda", "us-east-1").add_auth(request)
    context = ssl.create_default_context(cafile=ca)
    try:
        with urllib.request.urlopen(urllib.request.Request(
                endpoint + path, headers=dict(request.headers)), context=context) as r:
            return r.status, r.read().decode(), r.headers.get("x-amzn-ErrorType")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), e.headers.get("x-amzn-ErrorType")


# Metrics cover every account: an admin key's only. Environments: each account its own.
status, body, error = signed_get("alice", "/metrics")
assert (status, error) == (403, "AccessDeniedException") and "admin key" in body, (status, body)
status, body, _ = signed_get("admin", "/metrics")
assert status == 200 and "runtimed_" in body, (status, body[:200])
status, body, _ = signed_get("bob", "/runtimed/v1/environments")
seen = {(e["Account"], e["FunctionName"]) for e in json.loads(body)["Environments"]}
assert seen == {("222222222222", "shared")}, seen
status, body, _ = signed_get("admin", "/runtimed/v1/environments")
seen = {(e["Account"], e["FunctionName"]) for e in json.loads(body)["Environments"]}
assert ("111111111111", "sleepy") in seen and ("222222222222", "shared") in seen, seen
print("ok")
