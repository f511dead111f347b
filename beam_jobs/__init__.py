"""Beam pipelines that compose curate's stage functions. Nothing here does stage work itself."""
