"""The TTS collection: ``import nemo.collections.tts as nemo_tts``.

A skeleton so far: the package installs on its own, and its plugin registers with nemo-core
(``nemo plugins`` lists it); models arrive with their own issues.
"""

__all__: list[str] = []
