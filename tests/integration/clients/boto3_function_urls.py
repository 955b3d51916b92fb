"""boto3 against a running runtimed: Function URL configs, then HTTP requests to the URLs.

python3 boto3_function_urls.py ENDPOINT. Exits 0 after every check passed ("ok"); an
AssertionError or a botocore error says what did not.
"""
import base64
import io
import json
import sys
import urllib.error
import urllib.request
import zipfile

from lambda_test_client import expect_error, lambda_client

endpoint = sys.argv[1]
client = lambda_client(endpoint)
ARN = "arn:aws:lambda:us-east-1:000000000000:function:url-fn"

HANDLER = r'''
import base64, json
def handler(event, context):
    path = event["rawPath"]
    if path.startswith("/echo"):
        return {"statusCode": 200, "headers": {"content-type": "application/json"},
                "body": json.dumps(event)}
    if path == "/created":
        return {"statusCode": 201, "headers": {"x-made": "yes"}, "cookies": ["a=1", "b=2; Secure"],
                "body": base64.b64encode(b"\x00\x01").decode(), "isBase64Encoded": True}
    if path == "/plain":
        return {"hello": "world"}
    if path == "/string":
        return "just text"
    if path == "/fail":
        raise RuntimeError("boom")
    if path == "/malformed":
        return {"statusCode": "nope"}
    return {"statusCode": 404, "body": "no " + path}
'''

code = io.BytesIO()
with zipfile.ZipFile(code, "w") as z:
    z.writestr("app.py", HANDLER)
client.create_function(
    FunctionName="url-fn",
    Runtime="python3.12",
    Role="arn:aws:iam::000000000000:role/test",
    Handler="app.handler",
    Code={"ZipFile": code.getvalue()},
    Publish=True,
)
client.create_alias(FunctionName="url-fn", Name="live", FunctionVersion="1")

# The management API, in Lambda's shapes and words.
expect_error(client.exceptions.ResourceNotFoundException, client.get_function_url_config,
             FunctionName="url-fn")
created = client.create_function_url_config(FunctionName="url-fn", AuthType="NONE")
url = created["FunctionUrl"]
assert created["FunctionArn"] == ARN, created
# (Debian's botocore predates InvokeMode, so it drops the field.)
assert created["AuthType"] == "NONE" and created.get("InvokeMode", "BUFFERED") == "BUFFERED", created
assert url.startswith("http://127.0.0.1:") and "/lambda-url/" in url and url.endswith("/"), url
conflict = expect_error(client.exceptions.ResourceConflictException,
                        client.create_function_url_config, FunctionName="url-fn", AuthType="NONE")
assert "FunctionUrlConfig exists" in conflict["Error"]["Message"], conflict
expect_error(client.exceptions.InvalidParameterValueException, client.create_function_url_config,
             FunctionName="url-fn", Qualifier="1", AuthType="NONE")
expect_error(client.exceptions.ResourceNotFoundException, client.create_function_url_config,
             FunctionName="url-fn", Qualifier="nosuch", AuthType="NONE")
expect_error(client.exceptions.ResourceNotFoundException, client.create_function_url_config,
             FunctionName="no-fn", AuthType="NONE")
cors = {"AllowOrigins": ["https://app.example"], "AllowMethods": ["GET", "POST"],
        "AllowHeaders": ["x-token"], "ExposeHeaders": ["x-made"], "MaxAge": 60}
live = client.create_function_url_config(FunctionName="url-fn", Qualifier="live",
                                         AuthType="NONE", Cors=cors)
assert live["FunctionArn"] == ARN + ":live", live
assert live["FunctionUrl"] != url, live
iam = client.update_function_url_config(FunctionName="url-fn", AuthType="AWS_IAM")
assert iam["AuthType"] == "AWS_IAM" and iam["FunctionUrl"] == url, iam
assert client.get_function_url_config(FunctionName="url-fn")["AuthType"] == "AWS_IAM"
listed = client.list_function_url_configs(FunctionName="url-fn")["FunctionUrlConfigs"]
assert sorted(c["FunctionArn"] for c in listed) == [ARN, ARN + ":live"], listed
assert [c["Cors"] for c in listed if c["FunctionArn"].endswith(":live")] == [cors], listed


def fetch(target, method="GET", body=None, headers=None):
    """(status, headers, body bytes) of one request; HTTP errors are answers too."""
    request = urllib.request.Request(target, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


# AWS_IAM: an unsigned request is refused before the function runs.
status, _, _ = fetch(url + "echo")
assert status == 403, status

base = live["FunctionUrl"]
status, headers, body = fetch(base + "echo/a%20b?x=1&x=2&y=z",
                              headers={"Cookie": "s=1; theme=dark", "X-Two": "v",
                                       "Origin": "https://app.example"})
assert status == 200, (status, body)
event = json.loads(body)
assert event["version"] == "2.0" and event["routeKey"] == "$default", event
assert event["rawPath"] == "/echo/a%20b", event
assert event["rawQueryString"] == "x=1&x=2&y=z", event
assert event["queryStringParameters"] == {"x": "1,2", "y": "z"}, event
assert event["cookies"] == ["s=1", "theme=dark"], event
assert event["headers"]["x-two"] == "v", event
assert event["requestContext"]["http"]["method"] == "GET", event
assert event["requestContext"]["http"]["sourceIp"] == "127.0.0.1", event
assert event["isBase64Encoded"] is False and "body" not in event, event
assert headers["Access-Control-Allow-Origin"] == "https://app.example", dict(headers)
assert headers["Access-Control-Expose-Headers"] == "x-made", dict(headers)

status, _, body = fetch(base + "echo", "POST", b"\x00\xffbinary",
                        {"Content-Type": "application/octet-stream"})
event = json.loads(body)
assert event["isBase64Encoded"] is True, event
assert base64.b64decode(event["body"]) == b"\x00\xffbinary", event
status, _, body = fetch(base + "echo", "POST", b'{"k": 1}', {"Content-Type": "application/json"})
assert json.loads(json.loads(body)["body"]) == {"k": 1}, body

status, headers, body = fetch(base + "created")
assert status == 201 and body == b"\x00\x01", (status, body)
assert headers["x-made"] == "yes", dict(headers)
assert headers.get_all("Set-Cookie") == ["a=1", "b=2; Secure"], dict(headers)
status, headers, body = fetch(base + "plain")
assert status == 200 and json.loads(body) == {"hello": "world"}, (status, body)
assert headers["Content-Type"] == "application/json", dict(headers)
assert fetch(base + "string")[::2] == (200, b"just text")
assert fetch(base + "fail")[0] == 502
assert fetch(base + "malformed")[0] == 502
assert fetch(base + "missing")[::2] == (404, b"no /missing")

# A CORS preflight is answered without the function.
status, headers, _ = fetch(base + "echo", "OPTIONS", headers={
    "Origin": "https://app.example", "Access-Control-Request-Method": "POST"})
assert status == 204, status
assert headers["Access-Control-Allow-Methods"] == "GET,POST", dict(headers)
assert headers["Access-Control-Max-Age"] == "60", dict(headers)
status, headers, _ = fetch(base + "echo", "OPTIONS", headers={
    "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
assert status == 204 and "Access-Control-Allow-Origin" not in headers, dict(headers)

# An unknown url id, and a deleted config, answer 404.
assert fetch(base.replace("/lambda-url/", "/lambda-url/0") + "echo")[0] == 404
client.delete_function_url_config(FunctionName="url-fn", Qualifier="live")
expect_error(client.exceptions.ResourceNotFoundException, client.get_function_url_config,
             FunctionName="url-fn", Qualifier="live")
assert fetch(base + "echo")[0] == 404

# Deleting the function takes its URLs along.
client.delete_function(FunctionName="url-fn")
assert fetch(url + "echo")[0] == 404
print("ok")
