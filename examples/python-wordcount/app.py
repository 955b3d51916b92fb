"""Lambda handler of the word-count service: {"text": "...", "top": 10} -> counts."""

import logging

from wordcount import count_words

logger = logging.getLogger()
logger.setLevel(logging.INFO)


def handler(event, context):
    text = event.get("text") if isinstance(event, dict) else None
    if not isinstance(text, str):
        raise ValueError('the event must be {"text": "...", "top": N}')
    top = int(event.get("top", 10))
    result = count_words(text, max(0, min(top, 1000)))
    logger.info("counted %d words (%d distinct)", result["words"], result["distinct"])
    return result
