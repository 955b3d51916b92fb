"""boto3's InvokeWithResponseStream against a running runtimed: events arrive while the function
still runs, errors end the stream in InvokeComplete, and a plain Invoke gets the whole response.

python3 boto3_response_stream.py ENDPOINT FUNCTION KIND, where KIND says what the function is:
  c     tests/functions/c_runtime.c (the event's "action":"stream" streams raw chunks);
  node  a streamifyResponse handler (tests' stream.js), on runtimed's Node runtime or AWS's RIC.
Exits 0 after every check passed ("ok"); an AssertionError or a botocore error says what did not.
"""
import base64
import json
import sys
import time

from lambda_test_client import expect_error, lambda_client

endpoint, function, kind = sys.argv[1], sys.argv[2], sys.argv[3]
client = lambda_client(endpoint)


def stream_args(chunks, ms=0, fail=False):
    if kind == "c":
        return {"action": "stream", "chunks": chunks, "ms": ms, "fail": 1 if fail else 0}
    return {"chunks": chunks, "ms": ms, **({"fail": True} if fail else {})}


def chunk_text(i):
    return f"chunk {i}\n" if kind == "c" else f"chunk {i} of {function}\n"


def stream(payload, **kwargs):
    """Invokes; returns [(seconds since the call, event)], the response and the call's time."""
    started = time.monotonic()
    response = client.invoke_with_response_stream(
        FunctionName=function, Payload=json.dumps(payload), **kwargs)
    events = [(time.monotonic() - started, e) for e in response["EventStream"]]
    return events, response, time.monotonic() - started


# Warm the environment first, so the timing below is the stream's, not a cold start's.
stream(stream_args(1))

# Four chunks 400 ms apart: the first arrives long before the function ends (~1.2 s).
events, response, took = stream(stream_args(4, ms=400), LogType="Tail")
assert response["ResponseMetadata"]["HTTPStatusCode"] == 200, response
assert response["ResponseStreamContentType"] == "application/vnd.amazon.eventstream", response
chunks = [(t, e["PayloadChunk"]["Payload"]) for t, e in events if "PayloadChunk" in e]
assert b"".join(c for _, c in chunks) == "".join(chunk_text(i) for i in range(4)).encode(), chunks
assert took >= 1.1, took
first_byte = chunks[0][0]
assert first_byte < 0.6, f"the first chunk took {first_byte:.3f} s of {took:.3f} s"
assert chunks[-1][0] - first_byte >= 1.0, chunks
complete = events[-1][1]["InvokeComplete"]
assert "ErrorCode" not in complete, complete
log = base64.b64decode(complete["LogResult"]).decode()
assert "START RequestId:" in log and "REPORT RequestId:" in log, log
print(f"first chunk after {first_byte * 1000:.0f} ms, the stream ended after {took * 1000:.0f} ms")

# An error after the first bytes: the chunks so far, then InvokeComplete naming it.
events, _, _ = stream(stream_args(2, fail=True))
payload = b"".join(e["PayloadChunk"]["Payload"] for _, e in events if "PayloadChunk" in e)
assert payload == (chunk_text(0) + chunk_text(1)).encode(), events
complete = events[-1][1]["InvokeComplete"]
if kind == "c":
    assert complete["ErrorCode"] == "StreamError", complete
    assert complete["ErrorDetails"] == "stream broke", complete
else:
    assert complete["ErrorCode"] == "Error", complete
    assert complete["ErrorDetails"] == "the stream broke", complete

# A plain Invoke of the same function gets the stream gathered into one response.
result = client.invoke(FunctionName=function, Payload=json.dumps(stream_args(3)))
assert "FunctionError" not in result, result
assert result["Payload"].read() == "".join(chunk_text(i) for i in range(3)).encode()
failed = client.invoke(FunctionName=function, Payload=json.dumps(stream_args(1, fail=True)))
assert failed["FunctionError"] == "Unhandled", failed
assert "stream broke" in json.loads(failed["Payload"].read())["errorMessage"]

if kind == "c":
    # A function that answers whole: one PayloadChunk, then InvokeComplete.
    events, _, _ = stream({"action": "echo", "n": 1})
    assert [list(e) for _, e in events] == [["PayloadChunk"], ["InvokeComplete"]], events
    assert json.loads(events[0][1]["PayloadChunk"]["Payload"]) == {"action": "echo", "n": 1}
    events, _, _ = stream({"action": "error"})
    assert events[-1][1]["InvokeComplete"]["ErrorCode"] == "TestError", events
    # The function's timeout mid-stream (Timeout 2): the chunks so far, then Sandbox.Timedout.
    events, _, took = stream(stream_args(20, ms=300))
    complete = events[-1][1]["InvokeComplete"]
    assert complete["ErrorCode"] == "Sandbox.Timedout", complete
    assert 3 <= sum("PayloadChunk" in e for _, e in events) <= 8, events
    # DryRun and refusals answer as Invoke does.
    dry = client.invoke_with_response_stream(FunctionName=function, InvocationType="DryRun")
    assert dry["ResponseMetadata"]["HTTPStatusCode"] == 204, dry
    error = expect_error(client.exceptions.InvalidParameterValueException,
                         client.invoke_with_response_stream, FunctionName=function,
                         InvocationType="Event", Payload=b"{}")
    assert "invocationType" in error["Error"]["Message"], error
    expect_error(client.exceptions.ResourceNotFoundException, client.invoke_with_response_stream,
                 FunctionName="no-such-function", Payload=b"{}")
print("ok")
