"""boto3 against a running runtimed: versions, aliases with weighted routing, qualified invokes.

python3 boto3_versions.py ENDPOINT ZIP. Exits 0 after every check passed; an AssertionError or a
botocore error says what did not.
"""
import collections
import json
import math
import sys

from lambda_test_client import expect_error, lambda_client

endpoint, zip_path = sys.argv[1], sys.argv[2]
client = lambda_client(endpoint)
with open(zip_path, "rb") as f:
    code = f.read()
ARN = "arn:aws:lambda:us-east-1:000000000000:function:ver-fn"



created = client.create_function(
    FunctionName="ver-fn",
    Runtime="provided.al2023",
    Role="arn:aws:iam::000000000000:role/test",
    Handler="unused",
    Code={"ZipFile": code},
    Publish=True,
)
assert created["Version"] == "1", created
assert created["FunctionArn"] == ARN + ":1", created

# A publish with nothing changed answers the same version; a change makes the next one.
assert client.publish_version(FunctionName="ver-fn")["Version"] == "1"
latest = client.update_function_configuration(FunctionName="ver-fn", Timeout=7)
client.get_waiter("function_updated_v2").wait(FunctionName="ver-fn")
stale = expect_error(
    client.exceptions.PreconditionFailedException,
    client.publish_version,
    FunctionName="ver-fn",
    RevisionId="not-the-revision",
)
assert stale["ResponseMetadata"]["HTTPStatusCode"] == 412, stale
expect_error(
    client.exceptions.InvalidParameterValueException,
    client.publish_version,
    FunctionName="ver-fn",
    CodeSha256="not-the-code",
)
v2 = client.publish_version(
    FunctionName="ver-fn", Description="seven seconds", RevisionId=latest["RevisionId"]
)
assert v2["Version"] == "2" and v2["Timeout"] == 7, v2
assert v2["Description"] == "seven seconds", v2
assert client.get_function_configuration(FunctionName="ver-fn", Qualifier="1")["Timeout"] == 3

pages = client.get_paginator("list_versions_by_function").paginate(
    FunctionName="ver-fn", PaginationConfig={"PageSize": 1}
)
versions = [v["Version"] for page in pages for v in page["Versions"]]
assert versions == ["$LATEST", "1", "2"], versions

# An alias with an 80/20 split between versions 1 and 2.
alias = client.create_alias(
    FunctionName="ver-fn",
    Name="live",
    FunctionVersion="1",
    RoutingConfig={"AdditionalVersionWeights": {"2": 0.2}},
)
assert alias["AliasArn"] == ARN + ":live", alias
assert alias["RoutingConfig"]["AdditionalVersionWeights"] == {"2": 0.2}, alias
conflict = expect_error(
    client.exceptions.ResourceConflictException,
    client.create_alias,
    FunctionName="ver-fn",
    Name="live",
    FunctionVersion="1",
)
assert conflict["ResponseMetadata"]["HTTPStatusCode"] == 409, conflict
expect_error(
    client.exceptions.ResourceNotFoundException,
    client.create_alias,
    FunctionName="ver-fn",
    Name="next",
    FunctionVersion="9",
)
expect_error(
    client.exceptions.InvalidParameterValueException,
    client.create_alias,
    FunctionName="ver-fn",
    Name="bad",
    FunctionVersion="1",
    RoutingConfig={"AdditionalVersionWeights": {"2": 1.5}},
)

ran = collections.Counter()
for _ in range(500):
    answer = client.invoke(FunctionName="ver-fn:live", Payload=b"{}")
    assert answer["StatusCode"] == 200, answer
    ran[answer["ExecutedVersion"]] += 1
assert ran["1"] + ran["2"] == 500, ran
# Each call is an independent 20% draw, so version 2's count is binomial (mean 100, standard
# deviation ~8.9): within 5 deviations unless the weight is not honoured (a chance miss is ~1 in
# 1.7 million runs; the old +-5 points, 2.8 deviations, missed about 1 run in 200). The split
# itself is held tightly over 20,000 draws by the unit test AliasRouting.EightyTwentySplitHoldsOverManyDraws.
deviation = math.sqrt(500 * 0.2 * 0.8)
assert abs(ran["2"] - 100) <= 5 * deviation, (
    f"version 2 ran {ran['2']} of 500 calls, not 100 +- {5 * deviation:.0f}: {ran}")
print(f"alias live over 500 calls: {dict(ran)}")

# Every way of naming a version or an alias.
for name, qualifier, expected in [
    ("ver-fn:1", None, "1"),
    ("ver-fn", "2", "2"),
    (ARN + ":2", None, "2"),
    ("000000000000:function:ver-fn:1", None, "1"),
    ("ver-fn", "$LATEST", "$LATEST"),
    ("ver-fn", None, "$LATEST"),
]:
    kwargs = {"FunctionName": name, "Payload": json.dumps({"n": name})}
    if qualifier:
        kwargs["Qualifier"] = qualifier
    answer = client.invoke(**kwargs)
    assert answer["ExecutedVersion"] == expected, (kwargs, answer["ExecutedVersion"])
    assert json.loads(answer["Payload"].read()) == {"n": name}

# Moving the alias moves its traffic at once.
updated = client.update_alias(
    FunctionName="ver-fn", Name="live", FunctionVersion="2", RoutingConfig={}
)
assert updated["FunctionVersion"] == "2" and "RoutingConfig" not in updated, updated
for _ in range(20):
    assert client.invoke(FunctionName="ver-fn:live", Payload=b"{}")["ExecutedVersion"] == "2"
assert client.get_function(FunctionName="ver-fn", Qualifier="live")["Configuration"]["Version"] == "2"
listed = client.list_aliases(FunctionName="ver-fn", FunctionVersion="2")["Aliases"]
assert [a["Name"] for a in listed] == ["live"], listed

# Asynchronous invocations keep their qualifier.
event = client.invoke(FunctionName="ver-fn:live", InvocationType="Event", Payload=b"{}")
assert event["StatusCode"] == 202, event

missing = expect_error(
    client.exceptions.ResourceNotFoundException, client.invoke, FunctionName="ver-fn:7", Payload=b"{}"
)
assert missing["Error"]["Message"] == "Function not found: " + ARN + ":7", missing
expect_error(
    client.exceptions.ResourceNotFoundException,
    client.invoke,
    FunctionName="ver-fn:nope",
    Payload=b"{}",
)
in_use = expect_error(
    client.exceptions.ResourceConflictException,
    client.delete_function,
    FunctionName="ver-fn",
    Qualifier="2",
)
assert "live" in in_use["Error"]["Message"], in_use
client.delete_function(FunctionName="ver-fn", Qualifier="1")
expect_error(
    client.exceptions.ResourceNotFoundException,
    client.get_function,
    FunctionName="ver-fn",
    Qualifier="1",
)
client.delete_alias(FunctionName="ver-fn", Name="live")
expect_error(client.exceptions.ResourceNotFoundException, client.get_alias, FunctionName="ver-fn", Name="live")
client.delete_function(FunctionName="ver-fn")
print("ok")
