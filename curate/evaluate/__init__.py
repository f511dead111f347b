"""Evaluation built into the product: word-alignment AER/P/R/F1 against Pharaoh gold, and
typed span P/R/F1 of projections against gold labels."""
