"""NeMo 1.23's older import paths under ``nemo.collections.tts.torch``, kept for the configs of old checkpoints."""
