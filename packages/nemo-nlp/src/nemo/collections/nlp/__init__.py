"""The NLP collection: ``import nemo.collections.nlp as nemo_nlp``.

A skeleton so far: the package installs on its own, and its plugin registers with nemo-core
(``nemo plugins`` lists it); models arrive with their own issues.
"""

__all__: list[str] = []
