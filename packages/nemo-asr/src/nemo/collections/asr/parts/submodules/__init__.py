"""Layers that ASR modules are built from: attention, subsampling, Conformer blocks, causal convolutions."""
