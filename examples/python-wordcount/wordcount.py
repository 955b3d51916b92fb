"""Word counts over the event's text: totals, distinct words and the most frequent ones."""

import collections
import re

WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")


def count_words(text, top):
    words = [w.casefold() for w in WORD.findall(text)]
    counts = collections.Counter(words)
    return {
        "words": len(words),
        "distinct": len(counts),
        "lines": text.count("\n") + 1 if text else 0,
        "characters": len(text),
        "top": [{"word": w, "count": c} for w, c in counts.most_common(top)],
    }
