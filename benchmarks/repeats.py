"""Whole benchmark runs repeated, for figures that move from run to run (eflomal has no seed)."""

from __future__ import annotations

import statistics
from collections.abc import Callable


def repeated(measure: Callable[[], dict[str, float]], repeats: int) -> None:
    """Run ``measure`` ``repeats`` times; print each figure's spread, then ``name mean`` lines
    (the headline figure last, as ``measure`` returns it last)."""
    figures: dict[str, list[float]] = {}
    for repeat in range(repeats):
        if repeats > 1:
            print(f"\n--- run {repeat + 1} of {repeats}")
        for name, value in measure().items():
            figures.setdefault(name, []).append(value)
    if repeats > 1:
        print(f"\nover {repeats} runs (eflomal is not seeded):")
        for name, values in figures.items():
            print(
                f"  {name}: mean {statistics.mean(values):.4f}, range {min(values):.4f}-"
                f"{max(values):.4f}, spread {max(values) - min(values):.4f} "
                f"({' '.join(f'{v:.4f}' for v in values)})"
            )
    for name, values in figures.items():
        print(f"{name} {statistics.mean(values):.4f}")
