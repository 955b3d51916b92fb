"""boto3 against a running runtimed: event-invoke configs per qualifier, as Lambda keeps them.

python3 boto3_event_configs.py ENDPOINT. A failing python function with a config for $LATEST and
another for its alias: each asynchronous failure reaches its own qualifier's destination. Exits 0
after every check passed.
"""
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
    z.writestr("app.py", "def handler(event, context):\n    raise RuntimeError('boom')\n")
ARN = "arn:aws:lambda:us-east-1:000000000000:function:eic-fn"
QUEUE = "arn:aws:sqs:us-east-1:000000000000:"

client.create_function(
    FunctionName="eic-fn",
    Runtime="python3.12",
    Role="arn:aws:iam::000000000000:role/test",
    Handler="app.handler",
    Code={"ZipFile": code.getvalue()},
    Publish=True,
)
client.create_alias(FunctionName="eic-fn", Name="live", FunctionVersion="1")
for qualifier, queue in ((None, "latest-failures"), ("live", "alias-failures")):
    args = {"Qualifier": qualifier} if qualifier else {}
    put = client.put_function_event_invoke_config(
        FunctionName="eic-fn",
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": QUEUE + queue}},
        **args,
    )
    assert put["FunctionArn"] == ARN + ":" + (qualifier or "$LATEST"), put

got = client.get_function_event_invoke_config(FunctionName="eic-fn", Qualifier="live")
assert got["DestinationConfig"]["OnFailure"]["Destination"] == QUEUE + "alias-failures", got
listed = client.list_function_event_invoke_configs(FunctionName="eic-fn")
arns = sorted(c["FunctionArn"] for c in listed["FunctionEventInvokeConfigs"])
assert arns == [ARN + ":$LATEST", ARN + ":live"], listed
# The version itself has none (no fallback to the alias's or $LATEST's); an unknown one is 404.
none = expect_error(
    client.exceptions.ResourceNotFoundException,
    client.get_function_event_invoke_config,
    FunctionName="eic-fn",
    Qualifier="1",
)
assert "doesn't have an EventInvokeConfig" in none["Error"]["Message"], none
missing = expect_error(
    client.exceptions.ResourceNotFoundException,
    client.get_function_event_invoke_config,
    FunctionName="eic-fn",
    Qualifier="9",
)
assert missing["Error"]["Message"] == "Function not found: " + ARN + ":9", missing

client.invoke(FunctionName="eic-fn", Qualifier="live", InvocationType="Event", Payload=b'{"who":"alias"}')
client.invoke(FunctionName="eic-fn", InvocationType="Event", Payload=b'{"who":"latest"}')


def receive(queue):
    request = urllib.request.Request(
        f"{endpoint}/runtimed/v1/queues/{queue}/receive?max=10&visibility=0", method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return [json.loads(m["Body"]) for m in json.load(answer)["Messages"]]


deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        alias_records, latest_records = receive("alias-failures"), receive("latest-failures")
    except urllib.error.HTTPError:  # a queue is made by its first message
        alias_records, latest_records = [], []
    if alias_records and latest_records:
        break
    time.sleep(0.2)
assert len(alias_records) == 1 and len(latest_records) == 1, (alias_records, latest_records)
alias_record, latest_record = alias_records[0], latest_records[0]
assert alias_record["requestPayload"] == {"who": "alias"}, alias_record
assert alias_record["requestContext"]["functionArn"] == ARN + ":live", alias_record
assert alias_record["responseContext"]["executedVersion"] == "1", alias_record
assert alias_record["requestContext"]["condition"] == "RetriesExhausted", alias_record
assert latest_record["requestPayload"] == {"who": "latest"}, latest_record
assert latest_record["requestContext"]["functionArn"] == ARN + ":$LATEST", latest_record
assert latest_record["responseContext"]["executedVersion"] == "$LATEST", latest_record

# Deleting the alias deletes its config.
client.delete_alias(FunctionName="eic-fn", Name="live")
client.create_alias(FunctionName="eic-fn", Name="live", FunctionVersion="1")
expect_error(
    client.exceptions.ResourceNotFoundException,
    client.get_function_event_invoke_config,
    FunctionName="eic-fn",
    Qualifier="live",
)
print("ok")
