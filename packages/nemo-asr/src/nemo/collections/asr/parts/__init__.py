"""Building blocks shared by ASR modules: ``nemo.collections.asr.parts.submodules`` and friends."""
