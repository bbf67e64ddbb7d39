"""NLP training parts NeMo's scripts import (``nemo.collections.nlp.parts.nlp_overrides.NLPDDPStrategy``)."""
