"""TTS neural modules: FastPitch, its transformer, aligner and predictors, HiFi-GAN."""
