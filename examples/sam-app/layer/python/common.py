"""Helpers shared by the example's functions (the SharedLayer layer, at /opt/python)."""
import json
import time


def log_line(message, detail=""):
    return json.dumps({"t": round(time.time(), 3), "message": message, "detail": detail})


def http_json(status, body):
    return {"statusCode": status, "headers": {"content-type": "application/json"},
            "body": json.dumps(body)}
