"""What the boto3 test scripts share: a Lambda client for a runtimed endpoint, and expect_error."""
import boto3
from botocore.config import Config


def lambda_client(endpoint):
    """A boto3 Lambda client with dummy keys; a 429 or 5xx reaches the test, never retried away."""
    return boto3.client(
        "lambda",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"total_max_attempts": 1}),
    )


def expect_error(exception, call, **kwargs):
    """Calls call(**kwargs), which must raise `exception`; returns the error response."""
    try:
        call(**kwargs)
    except exception as e:
        return e.response
    raise AssertionError(f"{call.__name__}({kwargs}) did not raise {exception.__name__}")
