"""Config and split names of an export, made safe to be paths and `datasets` names."""

from __future__ import annotations

import re
import unicodedata

from curate.errors import UserError


def sanitize_name(name: str, *, kind: str = "config") -> str:
    """A safe file and config name: ASCII letters, digits, ``.``, ``_``, ``-``; 64 chars at most.

    Split names may only hold letters, digits and ``_`` (the ``datasets`` split-name rule).
    """
    decomposed = unicodedata.normalize("NFKD", str(name))
    # Accents go (é -> e); any other non-ASCII character becomes a separator.
    text = "".join(
        c if c.isascii() else ("" if unicodedata.combining(c) else "_") for c in decomposed
    )
    allowed = r"[^A-Za-z0-9_]+" if kind == "split" else r"[^A-Za-z0-9._-]+"
    text = re.sub(allowed, "_", text).strip("._-")
    text = re.sub(r"\.{2,}", ".", text)[:64].strip("._-")
    if not text:
        raise UserError(f"{kind} name {name!r} has no usable characters")
    return text


class ConfigNames:
    """Sanitised (config, split) names; two raw names that become one are an error."""

    def __init__(self, default_config: str) -> None:
        self.default_config = default_config
        self.seen: dict[tuple[str, str], tuple[str, str]] = {}
        self.safe: dict[tuple[str, str], tuple[str, str]] = {}

    def __call__(self, config: str | None, split: str | None) -> tuple[str, str]:
        raw = (config, split)
        if raw in self.safe:
            return self.safe[raw]
        safe = (
            sanitize_name(config or self.default_config),
            sanitize_name(split or "train", kind="split"),
        )
        if safe in self.seen and self.seen[safe] != raw:
            raise UserError(f"config/split names {self.seen[safe]} and {raw} both become {safe}")
        self.seen[safe] = raw
        self.safe[raw] = safe
        return safe
