"""The items API (HTTP API routes GET /items/{id} and ANY /hello, payload format 2.0)."""
import os

import common


def handler(event, context):
    route = event.get("routeKey", "")
    if route == "GET /items/{id}":
        item_id = event.get("pathParameters", {}).get("id")
        return common.http_json(200, {"id": item_id, "stage": os.environ["STAGE"]})
    name = (event.get("queryStringParameters") or {}).get("name", "world")
    return common.http_json(200, {"message": f"{os.environ['GREETING']}, {name}!"})
