"""Megatron-style building blocks that need no Megatron/Apex: layer types, init helpers, position embeddings."""
