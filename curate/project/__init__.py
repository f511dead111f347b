"""Span-label projection across translations: alignment-based and marker-based, both
directions (translate-train and translate-test), with a status and reasons per example."""
