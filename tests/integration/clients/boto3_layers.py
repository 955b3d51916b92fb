"""boto3 against a running runtimed: layers published, listed, merged at /opt and used.

python3 boto3_layers.py ENDPOINT C_RUNTIME_ZIP. The C runtime zip (a `bootstrap` that echoes its
event) becomes a layer that serves a `provided` function. Exits 0 after every check passed.
"""
import io
import json
import sys
import zipfile

from lambda_test_client import expect_error, lambda_client

endpoint, c_runtime_zip = sys.argv[1], sys.argv[2]
client = lambda_client(endpoint)
ROLE = "arn:aws:iam::000000000000:role/test"
LAYER_ARN = "arn:aws:lambda:us-east-1:000000000000:layer:"


def zip_of(files):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return buffer.getvalue()



base = client.publish_layer_version(
    LayerName="base",
    Description="first",
    CompatibleRuntimes=["python3.12", "nodejs20.x"],
    LicenseInfo="MIT",
    Content={
        "ZipFile": zip_of(
            {
                "python/greet.py": "def hello():\n    return 'base'\n",
                "python/only_base.py": "VALUE = 'kept'\n",
                "python/lib/python3.12/site-packages/sitepkg.py": "WHERE = 'site-packages'\n",
                "nodejs/node_modules/greet/index.js": "exports.hello = () => 'base';\n",
                "nodejs/node20/node_modules/versioned/index.js": "exports.v = 'node20';\n",
            }
        )
    },
)
assert base["Version"] == 1, base
assert base["LayerVersionArn"] == LAYER_ARN + "base:1", base
assert base["Content"]["CodeSize"] > 0 and base["Content"]["CodeSha256"], base
top = client.publish_layer_version(
    LayerName="top",
    CompatibleRuntimes=["python3.12"],
    Content={
        "ZipFile": zip_of(
            {
                "python/greet.py": "def hello():\n    return 'top'\n",
                "nodejs/node_modules/greet/index.js": "exports.hello = () => 'top';\n",
            }
        )
    },
)
again = client.publish_layer_version(LayerName="base", Content={"ZipFile": zip_of({"x": "y"})})
assert again["Version"] == 2, again

got = client.get_layer_version(LayerName="base", VersionNumber=1)
assert got["Description"] == "first" and got["LicenseInfo"] == "MIT", got
by_arn = client.get_layer_version_by_arn(Arn=LAYER_ARN + "base:1")
assert by_arn["LayerVersionArn"] == LAYER_ARN + "base:1", by_arn
versions = client.list_layer_versions(LayerName="base")["LayerVersions"]
assert [v["Version"] for v in versions] == [2, 1], versions
layers = {l["LayerName"]: l for l in client.list_layers()["Layers"]}
assert layers["base"]["LatestMatchingVersion"]["Version"] == 2, layers
only_node = client.list_layers(CompatibleRuntime="nodejs20.x")["Layers"]
assert [(l["LayerName"], l["LatestMatchingVersion"]["Version"]) for l in only_node] == [("base", 1)], only_node
missing = expect_error(
    client.exceptions.ResourceNotFoundException, client.get_layer_version, LayerName="base", VersionNumber=9
)
assert "does not exist" in missing["Error"]["Message"], missing

# Python: a later layer's file wins, an earlier one's other files stay, site-packages is on the path.
python_code = zip_of(
    {
        "app.py": (
            "import greet, only_base, sitepkg, os\n"
            "def handler(event, context):\n"
            "    return {'greet': greet.hello(), 'base': only_base.VALUE, 'site': sitepkg.WHERE,\n"
            "            'opt': sorted(os.listdir('/opt'))}\n"
        )
    }
)
fn = client.create_function(
    FunctionName="py-layers",
    Runtime="python3.12",
    Role=ROLE,
    Handler="app.handler",
    Code={"ZipFile": python_code},
    Layers=[LAYER_ARN + "base:1", LAYER_ARN + "top:1"],
)
assert [l["Arn"] for l in fn["Layers"]] == [LAYER_ARN + "base:1", LAYER_ARN + "top:1"], fn
out = json.loads(client.invoke(FunctionName="py-layers", Payload=b"{}")["Payload"].read())
assert out == {"greet": "top", "base": "kept", "site": "site-packages", "opt": ["nodejs", "python"]}, out

# Node: require() finds /opt/nodejs/node_modules and /opt/nodejs/node20/node_modules.
node_code = zip_of(
    {
        "index.mjs": (
            "import { createRequire } from 'node:module';\n"
            "const require = createRequire(import.meta.url);\n"
            "export const handler = async () => ({ greet: require('greet').hello(),\n"
            "  versioned: require('versioned').v });\n"
        )
    }
)
client.create_function(
    FunctionName="node-layers",
    Runtime="nodejs20.x",
    Role=ROLE,
    Handler="index.handler",
    Code={"ZipFile": node_code},
    Layers=[LAYER_ARN + "base:1"],
)
out = json.loads(client.invoke(FunctionName="node-layers", Payload=b"{}")["Payload"].read())
assert out == {"greet": "base", "versioned": "node20"}, out

# A custom runtime served from a layer: the function's zip has no bootstrap, the layer's does.
with open(c_runtime_zip, "rb") as f:
    runtime_layer = client.publish_layer_version(LayerName="c-runtime", Content={"ZipFile": f.read()})
client.create_function(
    FunctionName="provided-from-layer",
    Runtime="provided.al2023",
    Role=ROLE,
    Handler="unused",
    Code={"ZipFile": zip_of({"README": "the runtime is in a layer\n"})},
    Layers=[runtime_layer["LayerVersionArn"]],
)
out = client.invoke(FunctionName="provided-from-layer", Payload=json.dumps({"echo": "layer"}))
assert json.loads(out["Payload"].read()) == {"echo": "layer"}, out

# Misuse, in Lambda's words.
for layers, words in [
    ([LAYER_ARN + "base:7"], "does not exist"),
    ([LAYER_ARN + "nope:1"], "does not exist"),
    ([LAYER_ARN + "base:1", LAYER_ARN + "base:2"], "same layer"),
    ([LAYER_ARN + "base:1"] * 6, "more than 5 layers"),
    (["not-an-arn"], "layers"),
    (["arn:aws:lambda:eu-west-1:000000000000:layer:base:1"], "does not exist"),
]:
    bad = expect_error(
        client.exceptions.InvalidParameterValueException,
        client.update_function_configuration,
        FunctionName="py-layers",
        Layers=layers,
    )
    assert words in bad["Error"]["Message"], (layers, bad)

# Deleting a layer version leaves the functions that use it working, as on Lambda.
client.delete_layer_version(LayerName="top", VersionNumber=1)
expect_error(client.exceptions.ResourceNotFoundException, client.get_layer_version, LayerName="top", VersionNumber=1)
client.update_function_configuration(FunctionName="py-layers", Timeout=5)
client.get_waiter("function_updated_v2").wait(FunctionName="py-layers")
out = json.loads(client.invoke(FunctionName="py-layers", Payload=b"{}")["Payload"].read())
assert out["greet"] == "top", out
# Removing the layers takes /opt away.
client.update_function_configuration(FunctionName="py-layers", Layers=[])
out = client.invoke(FunctionName="py-layers", Payload=b"{}")
assert out.get("FunctionError") == "Unhandled", out
assert "greet" in json.loads(out["Payload"].read())["errorMessage"]
print("ok")
