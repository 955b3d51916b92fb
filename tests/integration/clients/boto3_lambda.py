"""boto3 (Debian's python3-boto3) against a running runtimed: python3 boto3_lambda.py ENDPOINT ZIP.

Exits 0 after every check passed; an AssertionError or botocore error says what did not.
"""
import json
import sys

from lambda_test_client import lambda_client

endpoint, zip_path = sys.argv[1], sys.argv[2]
client = lambda_client(endpoint)
with open(zip_path, "rb") as f:
    code = f.read()

created = client.create_function(
    FunctionName="boto-fn",
    Runtime="provided.al2023",
    Role="arn:aws:iam::000000000000:role/test",
    Handler="unused",
    Code={"ZipFile": code},
    Environment={"Variables": {"GREETING": "hi"}},
)
assert created["State"] == "Active", created
assert created["Environment"]["Variables"] == {"GREETING": "hi"}, created
client.get_waiter("function_active_v2").wait(FunctionName="boto-fn")

answer = client.invoke(FunctionName="boto-fn", Payload=json.dumps({"hello": "boto3"}), LogType="Tail")
assert answer["StatusCode"] == 200, answer
assert "FunctionError" not in answer, answer
assert json.loads(answer["Payload"].read()) == {"hello": "boto3"}
assert "LogResult" in answer, answer

error = client.invoke(FunctionName="boto-fn", Payload=json.dumps({"action": "error"}))
assert error["FunctionError"] == "Unhandled", error
body = json.loads(error["Payload"].read())
assert body["errorType"] and body["errorMessage"], body

event = client.invoke(FunctionName="boto-fn", InvocationType="Event", Payload=b"{}")
assert event["StatusCode"] == 202, event

try:
    client.get_function(FunctionName="no-such-fn")
    raise AssertionError("get_function of a missing function succeeded")
except client.exceptions.ResourceNotFoundException as e:
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 404, e.response

try:
    client.invoke(FunctionName="boto-fn", Payload=b"not json")
    raise AssertionError("a payload that is not JSON was accepted")
except client.exceptions.InvalidRequestContentException as e:
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 400, e.response

# Reserved concurrency 0 turns the function off: an immediate 429 with Lambda's Reason.
client.put_function_concurrency(FunctionName="boto-fn", ReservedConcurrentExecutions=0)
try:
    client.invoke(FunctionName="boto-fn", Payload=b"{}")
    raise AssertionError("an invocation of a function with reserved concurrency 0 ran")
except client.exceptions.TooManyRequestsException as e:
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 429, e.response
    assert e.response.get("Reason") == "ReservedFunctionConcurrentInvocationLimitExceeded", e.response
client.delete_function_concurrency(FunctionName="boto-fn")

page = client.list_functions()
assert [f["FunctionName"] for f in page["Functions"]] == ["boto-fn"], page
client.delete_function(FunctionName="boto-fn")
print("OK")
