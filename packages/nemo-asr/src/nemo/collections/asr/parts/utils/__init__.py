"""Helpers shared by ASR decoding and models: ``rnnt_utils.Hypothesis``."""
