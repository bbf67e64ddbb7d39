"""NeMo 1.23's ``nemo.core.utils``: support checks (``numba_utils``). Imports nothing at package import."""
