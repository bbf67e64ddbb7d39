"""Shipped NLP configs (NeMo 1.23 keys), found by `nemo train NAME` through the nlp plugin."""
