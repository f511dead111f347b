"""Built-in detectors; importing this package registers them, in the order they run.

The order matters a little: cheap, general checks first, and ``length_ratio`` before the
detectors that reuse its per-batch length z (``truncation``, ``misalignment``, ``omission``).
"""

from importlib import import_module

MODULES = (
    "surface",
    "partial",
    "language",
    "length",
    "repetition",
    "tokens",
    "markup",
    "crosslingual",
    "omission",
    "semantic",
    "engine",
    "paired",
    "reference",
)

for _name in MODULES:
    import_module(f"curate.artifacts.detectors.{_name}")
