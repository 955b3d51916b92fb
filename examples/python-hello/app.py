"""The smallest python function: greets whoever the event names."""


def handler(event, context):
    name = (event or {}).get("name", "world")
    print(f"greeting {name} in request {context.aws_request_id}")
    return {"message": f"Hello, {name}!"}
