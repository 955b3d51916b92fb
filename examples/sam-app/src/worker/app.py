"""The jobs queue's consumer: reports the messages it could not process (ReportBatchItemFailures),
so only those are retried and, after maxReceiveCount, moved to JobsDeadLetters."""
import json

import common


def handler(event, context):
    failures = []
    for record in event.get("Records", []):
        try:
            job = json.loads(record["body"])
            print(common.log_line("job done", job.get("id", "?")))
        except (ValueError, KeyError):
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
