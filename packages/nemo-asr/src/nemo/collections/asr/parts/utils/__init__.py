"""Helpers shared by ASR decoding and models: ``rnnt_utils.Hypothesis``, ``text_files.open_text``."""
