"""Behaviour shared by the ASR models: tokenizer set-up and transcription inputs."""
