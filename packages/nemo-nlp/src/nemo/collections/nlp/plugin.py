"""nemo-nlp's plugin, loaded through the entry point ``nlp = "nemo.collections.nlp.plugin"``.

The NLP collection registers no models, configs or commands yet; each arrives here as a hook
implementation (see ``nemo.core.plugins.hookspecs``) when its model lands. Until then
``nemo plugins`` lists it as loaded, which shows the distribution is installed and importable.
"""

NEMO_PLUGIN_API = "1.0"
