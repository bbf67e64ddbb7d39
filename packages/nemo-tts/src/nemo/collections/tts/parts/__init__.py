"""TTS model parts: utilities and preprocessing."""
