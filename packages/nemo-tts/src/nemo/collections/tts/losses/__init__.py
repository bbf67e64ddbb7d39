"""TTS losses: FastPitch (mel, duration, pitch, energy), aligner (forward-sum, binarization), HiFi-GAN."""
