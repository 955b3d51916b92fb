"""boto3 against a running runtimed: provisioned concurrency on an alias of a python function.

python3 boto3_provisioned.py ENDPOINT. Exits 0 after every check passed; an AssertionError or a
botocore error says what did not.
"""
import base64
import io
import json
import sys
import time
import urllib.request
import zipfile

from lambda_test_client import expect_error, lambda_client

endpoint = sys.argv[1]
client = lambda_client(endpoint)
code = io.BytesIO()
with zipfile.ZipFile(code, "w") as z:
    z.writestr(
        "app.py",
        "import os\n"
        "def handler(event, context):\n"
        "    return {'type': os.environ.get('AWS_LAMBDA_INITIALIZATION_TYPE')}\n",
    )
ARN = "arn:aws:lambda:us-east-1:000000000000:function:pc-fn"

client.create_function(
    FunctionName="pc-fn",
    Runtime="python3.12",
    Role="arn:aws:iam::000000000000:role/test",
    Handler="app.handler",
    Code={"ZipFile": code.getvalue()},
    Publish=True,
)
client.create_alias(FunctionName="pc-fn", Name="live", FunctionVersion="1")
put = client.put_provisioned_concurrency_config

# Misuses, each in Lambda's words.
latest = expect_error(
    client.exceptions.InvalidParameterValueException,
    put,
    FunctionName="pc-fn",
    Qualifier="$LATEST",
    ProvisionedConcurrentExecutions=1,
)
assert "unpublished function versions" in latest["Error"]["Message"], latest
missing = expect_error(
    client.exceptions.ResourceNotFoundException,
    put,
    FunctionName="pc-fn",
    Qualifier="9",
    ProvisionedConcurrentExecutions=1,
)
assert missing["Error"]["Message"] == "Function not found: " + ARN + ":9", missing
expect_error(
    client.exceptions.ProvisionedConcurrencyConfigNotFoundException,
    client.get_provisioned_concurrency_config,
    FunctionName="pc-fn",
    Qualifier="live",
)

first = put(FunctionName="pc-fn", Qualifier="live", ProvisionedConcurrentExecutions=2)
assert first["ResponseMetadata"]["HTTPStatusCode"] == 202, first
assert first["RequestedProvisionedConcurrentExecutions"] == 2, first
assert first["Status"] in ("IN_PROGRESS", "READY"), first
# Not on the alias and the version it points to at once.
expect_error(
    client.exceptions.ResourceConflictException,
    put,
    FunctionName="pc-fn",
    Qualifier="1",
    ProvisionedConcurrentExecutions=1,
)

deadline = time.monotonic() + 60
while True:
    got = client.get_provisioned_concurrency_config(FunctionName="pc-fn", Qualifier="live")
    if got["Status"] == "READY" or time.monotonic() > deadline:
        break
    assert got["Status"] == "IN_PROGRESS", got
    time.sleep(0.2)
assert got["Status"] == "READY", got
assert got["AllocatedProvisionedConcurrentExecutions"] == 2, got
assert got["AvailableProvisionedConcurrentExecutions"] == 2, got
listed = client.list_provisioned_concurrency_configs(FunctionName="pc-fn")
configs = listed["ProvisionedConcurrencyConfigs"]
assert [c["FunctionArn"] for c in configs] == [ARN + ":live"], listed

# Its first invocation finds an initialized environment: no Init Duration, Lambda's variable.
answer = client.invoke(FunctionName="pc-fn", Qualifier="live", LogType="Tail", Payload=b"{}")
assert json.loads(answer["Payload"].read()) == {"type": "provisioned-concurrency"}, answer
assert answer["ExecutedVersion"] == "1", answer
log = base64.b64decode(answer["LogResult"]).decode()
assert "REPORT RequestId" in log and "Init Duration" not in log, log
# $LATEST stays on demand.
answer = client.invoke(FunctionName="pc-fn", LogType="Tail", Payload=b"{}")
assert json.loads(answer["Payload"].read()) == {"type": "on-demand"}, answer
assert "Init Duration" in base64.b64decode(answer["LogResult"]).decode()

# It counts against the function's reservation.
client.put_function_concurrency(FunctionName="pc-fn", ReservedConcurrentExecutions=2)
over = expect_error(
    client.exceptions.InvalidParameterValueException,
    put,
    FunctionName="pc-fn",
    Qualifier="live",
    ProvisionedConcurrentExecutions=3,
)
assert "reservedConcurrentExecution" in over["Error"]["Message"], over
client.delete_function_concurrency(FunctionName="pc-fn")
# … and a reservation below it is refused.
under = expect_error(
    client.exceptions.InvalidParameterValueException,
    client.put_function_concurrency,
    FunctionName="pc-fn",
    ReservedConcurrentExecutions=1,
)
assert "provisioned concurrency" in under["Error"]["Message"], under


def wait_ready(qualifier):
    deadline = time.monotonic() + 60
    while True:
        got = client.get_provisioned_concurrency_config(FunctionName="pc-fn", Qualifier=qualifier)
        if got["Status"] == "READY" or time.monotonic() > deadline:
            return got
        time.sleep(0.2)


def environments(version):
    with urllib.request.urlopen(endpoint + "/runtimed/v1/environments", timeout=10) as answer:
        listed = json.load(answer)["Environments"]
    return sum(
        e["Warm"] + e["Frozen"] + e["Busy"] + e["Starting"]
        for e in listed
        if e["FunctionName"] == "pc-fn" and e["Version"] == version
    )


# The alias moves to version 2: its provisioned environments move with it.
client.update_function_configuration(FunctionName="pc-fn", Description="two")
client.get_waiter("function_updated_v2").wait(FunctionName="pc-fn")
assert client.publish_version(FunctionName="pc-fn")["Version"] == "2"
client.update_alias(FunctionName="pc-fn", Name="live", FunctionVersion="2")
moved = wait_ready("live")
assert moved["Status"] == "READY" and moved["AllocatedProvisionedConcurrentExecutions"] == 2, moved
answer = client.invoke(FunctionName="pc-fn", Qualifier="live", LogType="Tail", Payload=b"{}")
assert answer["ExecutedVersion"] == "2", answer
assert "Init Duration" not in base64.b64decode(answer["LogResult"]).decode()
deadline = time.monotonic() + 30
while environments("1") and time.monotonic() < deadline:
    time.sleep(0.2)
assert environments("1") == 0, "version 1's provisioned environments stayed"

client.delete_provisioned_concurrency_config(FunctionName="pc-fn", Qualifier="live")
expect_error(
    client.exceptions.ProvisionedConcurrencyConfigNotFoundException,
    client.get_provisioned_concurrency_config,
    FunctionName="pc-fn",
    Qualifier="live",
)
# Deleting the alias takes a config on it along, and its environments.
put(FunctionName="pc-fn", Qualifier="live", ProvisionedConcurrentExecutions=1)
assert wait_ready("live")["Status"] == "READY"
assert environments("2") == 1
client.delete_alias(FunctionName="pc-fn", Name="live")
deadline = time.monotonic() + 30
while environments("2") and time.monotonic() < deadline:
    time.sleep(0.2)
assert environments("2") == 0, "the deleted alias's provisioned environment stayed"
client.create_alias(FunctionName="pc-fn", Name="live", FunctionVersion="1")
expect_error(
    client.exceptions.ProvisionedConcurrencyConfigNotFoundException,
    client.get_provisioned_concurrency_config,
    FunctionName="pc-fn",
    Qualifier="live",
)
print("ok")
