"""Training-set builders: parallel (templated bitext) and interleaved (CrossIC-PT) samples.

Modules: ``tokens`` (token counting), ``pairing`` (document pairs), ``parallel``,
``interleave``, ``mixing`` (language sampling ratios) and ``common`` (counts, splits, names).
Every builder returns :class:`curate.trainsets.common.BuildResult`: ``training_samples`` rows, the
filter decisions with their reasons, and a report whose counts add up.
"""
