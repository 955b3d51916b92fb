"""boto3 against a running runtimed: an SQS event source mapping from a local queue.

python3 boto3_event_source_mappings.py ENDPOINT. Prints "ok" after every check passed.
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
QUEUE_ARN = "arn:aws:sqs:us-east-1:000000000000:jobs"
DLQ_ARN = "arn:aws:sqs:us-east-1:000000000000:jobs-dlq"


def call(method, path, body=None):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(endpoint + path, data=data, method=method)
    with urllib.request.urlopen(request, timeout=30) as r:
        text = r.read()
        return json.loads(text) if text else None


def depth(name):
    for q in call("GET", "/runtimed/v1/queues")["Queues"]:
        if q["Name"] == name:
            return q["ApproximateNumberOfMessages"] + q["ApproximateNumberOfMessagesNotVisible"]
    return None


# The consumer checks the SQS event's shape (a wrong one fails the batch, and nothing would be
# deleted) and reports the message whose body is "fail".
HANDLER = r'''
import hashlib
def handler(event, context):
    failures = []
    for r in event["Records"]:
        assert r["eventSource"] == "aws:sqs", r
        assert r["eventSourceARN"] == "arn:aws:sqs:us-east-1:000000000000:jobs", r
        assert r["md5OfBody"] == hashlib.md5(r["body"].encode()).hexdigest(), r
        assert int(r["attributes"]["ApproximateReceiveCount"]) >= 1, r
        if r["body"] == "fail":
            failures.append({"itemIdentifier": r["messageId"]})
    return {"batchItemFailures": failures}
'''
code = io.BytesIO()
with zipfile.ZipFile(code, "w") as z:
    z.writestr("app.py", HANDLER)
client.create_function(FunctionName="consumer", Runtime="python3.12", Handler="app.handler",
                       Role="arn:aws:iam::000000000000:role/x", Code={"ZipFile": code.getvalue()})

call("PUT", "/runtimed/v1/queues/jobs-dlq")
made = call("PUT", "/runtimed/v1/queues/jobs", {
    "VisibilityTimeout": 1, "RedrivePolicy": {"deadLetterTargetArn": DLQ_ARN, "maxReceiveCount": 2}})
assert made["QueueArn"] == QUEUE_ARN, made
for body in [b"a", b"b", b"c", b"fail", b"d"]:
    call("POST", "/runtimed/v1/queues/jobs/messages", body)
assert depth("jobs") == 5

# Misuses, in Lambda's words.
expect_error(client.exceptions.InvalidParameterValueException, client.create_event_source_mapping,
             EventSourceArn=QUEUE_ARN, FunctionName="consumer", BatchSize=100)
expect_error(client.exceptions.InvalidParameterValueException, client.create_event_source_mapping,
             EventSourceArn="arn:aws:sqs:us-east-1:000000000000:nosuch", FunctionName="consumer")
expect_error(client.exceptions.ResourceNotFoundException, client.create_event_source_mapping,
             EventSourceArn=QUEUE_ARN, FunctionName="nosuch")

mapping = client.create_event_source_mapping(
    EventSourceArn=QUEUE_ARN, FunctionName="consumer", BatchSize=10,
    MaximumBatchingWindowInSeconds=1, FunctionResponseTypes=["ReportBatchItemFailures"])
uuid = mapping["UUID"]
assert mapping["FunctionArn"] == "arn:aws:lambda:us-east-1:000000000000:function:consumer", mapping
assert mapping["BatchSize"] == 10, mapping

# Four succeed and are deleted; "fail" comes back after the visibility timeout, fails again, and
# the queue's redrive policy moves it to the dead-letter queue.
deadline = time.time() + 30
while time.time() < deadline and not (depth("jobs") == 0 and depth("jobs-dlq") == 1):
    time.sleep(0.2)
assert depth("jobs") == 0 and depth("jobs-dlq") == 1, (depth("jobs"), depth("jobs-dlq"))
dead = call("POST", "/runtimed/v1/queues/jobs-dlq/receive?max=10")["Messages"]
assert [m["Body"] for m in dead] == ["fail"], dead

got = client.get_event_source_mapping(UUID=uuid)
assert got["State"] == "Enabled" and got["FunctionResponseTypes"] == ["ReportBatchItemFailures"], got
listed = client.list_event_source_mappings(FunctionName="consumer")["EventSourceMappings"]
assert [m["UUID"] for m in listed] == [uuid], listed
assert client.list_event_source_mappings(EventSourceArn=DLQ_ARN)["EventSourceMappings"] == []

# Disabled: messages wait.
assert client.update_event_source_mapping(UUID=uuid, Enabled=False)["State"] == "Disabled"
call("POST", "/runtimed/v1/queues/jobs/messages", b"later")
time.sleep(2)
assert depth("jobs") == 1
assert client.update_event_source_mapping(UUID=uuid, Enabled=True)["State"] in ("Enabled", "Updating")
deadline = time.time() + 15
while time.time() < deadline and depth("jobs") != 0:
    time.sleep(0.2)
assert depth("jobs") == 0

# A sent message wakes the idle poller at once: no batching window, each message consumed well
# inside the 1 s the poller otherwise waits between looks. Each is sent 0.3 s after the last
# batch settled (which wakes the poller for one more look), so without the wake-up it would wait
# about 0.7 s.
client.update_event_source_mapping(UUID=uuid, MaximumBatchingWindowInSeconds=0)
time.sleep(1.5)  # the poller has looked since the update and waits again
took = []
for i in range(5):
    start = time.monotonic()
    call("POST", "/runtimed/v1/queues/jobs/messages", f"now-{i}".encode())
    while depth("jobs") != 0 and time.monotonic() - start < 10:
        time.sleep(0.005)
    took.append(time.monotonic() - start)
    time.sleep(0.3)  # the poller idle again
assert max(took) < 0.5, ["%.3f s" % t for t in took]

assert client.delete_event_source_mapping(UUID=uuid)["State"] == "Deleting"
expect_error(client.exceptions.ResourceNotFoundException, client.get_event_source_mapping, UUID=uuid)
call("DELETE", "/runtimed/v1/queues/jobs")
assert depth("jobs") is None
print("ok")
