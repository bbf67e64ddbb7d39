"""Language resources for decoding: word n-gram language models (ARPA), pronunciation/spelling lexicons, and how
they score the prefixes of a CTC beam search (``word_lm_fusion``, ``lexicon_lm_fusion``)."""
