"""TTS preprocessing: text normalization and pitch estimation."""
