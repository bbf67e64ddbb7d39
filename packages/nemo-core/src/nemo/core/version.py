"""nemo-core's version and distribution names, in a module that imports nothing, so that any layer may read them."""

__version__ = "0.2.0"

# The names on the package index (the import paths stay ``nemo.*``): ``nemo-core`` alone would be free there, but
# ``nemo-asr`` belongs to an unrelated project, so the four share the free prefix ``nemo-kit-``.
DISTRIBUTION_PREFIX = "nemo-kit-"
CORE_DISTRIBUTION = f"{DISTRIBUTION_PREFIX}core"
DOMAIN_DISTRIBUTIONS = tuple(f"{DISTRIBUTION_PREFIX}{domain}" for domain in ("asr", "nlp", "tts"))
