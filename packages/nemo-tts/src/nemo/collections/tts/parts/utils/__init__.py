"""TTS utilities: dataset helpers, pitch statistics, masks and plotting."""
