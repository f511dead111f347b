"""Generated inputs for fault tests: a JSON Lines corpus with broken lines among good ones,
and a hash of what a query over a store returns (equal hashes: equal content)."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

from curate.store import Store

WORDS = "alpha beta gamma delta river stone market light garden paper".split()


def broken_jsonl(
    path: Path, n: int, *, seed: int, broken_every: int, words: int, broken: str
) -> None:
    """``n`` lines of ``{"id", "text"}`` documents of ``words`` random words each; every
    ``broken_every``-th line (the first included) is ``broken``, a line that is not JSON."""
    rng = random.Random(seed)
    with open(path, "w") as fh:
        for i in range(n):
            if i % broken_every == 0:
                fh.write(broken + "\n")
            else:
                text = " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."
                fh.write(json.dumps({"id": f"d{i}", "text": text}) + "\n")


def query_hash(store: Store, query: str) -> str:
    """SHA-256 of the rows ``query`` returns (give it an ORDER BY)."""
    return hashlib.sha256(json.dumps(store.sql(query).to_pylist()).encode()).hexdigest()
