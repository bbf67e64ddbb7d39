"""Text normalization for TTS: written text to spoken words (``"$5.50" -> "five dollars fifty cents"``).

NeMo's FastPitch configs name ``nemo_text_processing``'s normalizer under ``text_normalizer``; it needs pynini,
which many users cannot install. This module gives

- :class:`Normalizer`: ours, pure Python, English only, deterministic; same constructor and ``normalize``
  signature as ``nemo_text_processing.text_normalization.normalize.Normalizer``, reading numbers, ordinals,
  currency, percentages, times, dates, years, decades, fractions, units, telephone numbers, e-mail and web
  addresses and common abbreviations as that normalizer's English grammar (``input_case="cased"``) does
  (the rules are in ``_normalizer_rules.py``, their words in ``_normalizer_tables.py`` and ``_number_words.py``);
- :func:`build_text_normalizer`: builds what a config's ``text_normalizer`` names, using ours when
  ``nemo_text_processing`` is named but not installed.

Example:
    >>> Normalizer(input_case="cased", lang="en").normalize("Dr. Smith paid $5.50 on Jan. 5, 2024.")
    'doctor Smith paid five dollars fifty cents on january fifth, twenty twenty four.'
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from nemo.collections.tts.parts.preprocessing._normalizer_rules import apply_rules, build_rules
from nemo.collections.tts.parts.preprocessing._normalizer_tables import ABBREVIATIONS
from nemo.utils import logging

__all__ = ["NEMO_TEXT_PROCESSING_NORMALIZER", "Normalizer", "OUR_NORMALIZER", "build_text_normalizer"]

OUR_NORMALIZER = "nemo.collections.tts.parts.preprocessing.text_normalizer.Normalizer"
NEMO_TEXT_PROCESSING_NORMALIZER = "nemo_text_processing.text_normalization.normalize.Normalizer"
_INPUT_CASES = ("cased", "lower_cased")
_SPACES = re.compile(r"\s+")


def _read_whitelist(path: str | os.PathLike[str]) -> dict[str, str]:
    """Read a whitelist file: one ``written<TAB>spoken`` pair a line (nemo_text_processing's format)."""
    table: dict[str, str] = {}
    with open(path, encoding="utf-8", newline="") as handle:
        for line_number, row in enumerate(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE), 1):
            if not row or not "".join(row).strip():
                continue
            if len(row) != 2 or not row[0].strip():
                raise ValueError(
                    f"{path}:{line_number}: a whitelist line must be 'written<TAB>spoken'; got {row!r}. "
                    "Fix or remove that line."
                )
            table[row[0].strip()] = row[1].strip()
    return table


class Normalizer:
    """English text normalizer in pure Python, signature-compatible with nemo_text_processing's.

    Args:
        input_case: ``"cased"`` (month names and abbreviations match as written) or ``"lower_cased"``
            (they match in any case).
        lang: must be ``"en"``; other languages need nemo_text_processing.
        deterministic: accepted for compatibility; ours always gives one reading.
        cache_dir: accepted and ignored (nemo_text_processing caches compiled grammars there; ours compiles
            regular expressions in milliseconds).
        overwrite_cache: accepted and ignored, as ``cache_dir``.
        whitelist: path to a ``written<TAB>spoken`` file; as in nemo_text_processing's deterministic mode, it
            replaces the built-in abbreviation table.
        lm: accepted and ignored (nemo_text_processing's language-model reranking, not deterministic).
        post_process: accepted and ignored: ours keeps the input's punctuation and spacing between tokens, so
            there is nothing to post-process.
        max_number_of_permutations_per_split: accepted and ignored (a limit of the WFST search).

    Raises:
        ValueError: ``lang`` is not ``"en"`` or ``input_case`` is unknown; a whitelist line is malformed.
        FileNotFoundError: ``whitelist`` names no file.
    """

    def __init__(
        self,
        input_case: str = "cased",
        lang: str = "en",
        deterministic: bool = True,
        cache_dir: str | None = None,
        overwrite_cache: bool = False,
        whitelist: str | os.PathLike[str] | None = None,
        lm: bool = False,
        post_process: bool = True,
        max_number_of_permutations_per_split: int = 729,
    ) -> None:
        if lang != "en":
            raise ValueError(
                f"Normalizer(lang={lang!r}): the pure-Python normalizer reads English only; expected lang='en'. "
                "Set text_normalizer.lang to 'en', or install nemo_text_processing (pip install "
                "nemo_text_processing) for other languages."
            )
        if input_case not in _INPUT_CASES:
            raise ValueError(
                f"Normalizer(input_case={input_case!r}): expected one of {list(_INPUT_CASES)}. Use 'cased' for "
                "text with capital letters."
            )
        self.lang = lang
        self.input_case = input_case
        self._abbreviations = dict(ABBREVIATIONS) if whitelist is None else _read_whitelist(Path(whitelist))
        self._rules = build_rules(self._abbreviations, ignore_case=input_case == "lower_cased")

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without the compiled rules (DataLoader workers that spawn pickle the dataset's normalizer)."""
        return {"lang": self.lang, "input_case": self.input_case, "_abbreviations": self._abbreviations}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._rules = build_rules(self._abbreviations, ignore_case=self.input_case == "lower_cased")

    def normalize(
        self,
        text: str,
        verbose: bool = False,
        punct_pre_process: bool = False,
        punct_post_process: bool = False,
    ) -> str:
        """Turn written text into spoken words.

        Runs of whitespace become one space and the ends are stripped, as nemo_text_processing does; the
        punctuation around tokens is kept as written, which is what nemo_text_processing gives with
        ``punct_pre_process=True, punct_post_process=True`` (FastPitch's ``text_normalizer_call_kwargs``).

        Args:
            text: e.g. ``"It costs $1.2 million."``.
            verbose: log the input and the output.
            punct_pre_process: accepted for compatibility (see above).
            punct_post_process: accepted for compatibility (see above).

        Returns:
            The spoken form, e.g. ``"It costs one point two million dollars."``.
        """
        spoken = apply_rules(_SPACES.sub(" ", text).strip(), self._rules)
        if verbose:
            logging.info(f"Normalizer: {text!r} -> {spoken!r}")
        return spoken

    def normalize_list(
        self,
        texts: Iterable[str],
        verbose: bool = False,
        punct_pre_process: bool = False,
        punct_post_process: bool = False,
        batch_size: int = 1,
        n_jobs: int = 1,
        **kwargs: Any,
    ) -> list[str]:
        """:meth:`normalize` each text; ``batch_size``, ``n_jobs`` and ``kwargs`` are accepted and ignored."""
        return [self.normalize(text, verbose, punct_pre_process, punct_post_process) for text in texts]


def _config_node(config: Any, key: str) -> Any:
    if config is None:
        return None
    if not hasattr(config, "get"):
        raise ValueError(
            f"build_text_normalizer expected a model config (DictConfig or dict) holding {key!r}; got "
            f"{type(config).__name__}. Pass the FastPitch config, e.g. model.cfg."
        )
    node = config.get(key)
    if node is None:
        return None
    from omegaconf import DictConfig, OmegaConf

    if isinstance(node, DictConfig):
        node = OmegaConf.to_container(node, resolve=True)
    if not isinstance(node, Mapping):
        raise ValueError(
            f"Config key {key!r} must be a mapping with '_target_'; got {node!r}. Set {key}._target_ to "
            f"{OUR_NORMALIZER!r} (with lang: en, input_case: cased), or remove {key!r} to skip normalization."
        )
    return dict(node)


def _instantiate(cls: type, params: dict[str, Any], key: str, target: str) -> object:
    try:
        return cls(**params)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"Could not build {key} ({target}) from {params}: {error}. Fix the keys under {key!r}: "
            f"{OUR_NORMALIZER} takes input_case ('cased' or 'lower_cased'), lang ('en') and whitelist."
        ) from error


def build_text_normalizer(config: Any, key: str = "text_normalizer", **overrides: Any) -> object | None:
    """Build the normalizer a FastPitch config names under ``key``.

    - no ``key`` (or ``None``): returns None;
    - ``_target_`` is ours (:data:`OUR_NORMALIZER`): ours;
    - ``_target_`` is under ``nemo_text_processing.``: that class when it imports; when nemo_text_processing (or
      pynini, which it needs) is not installed, ours, with one warning saying so;
    - any other allowed ``_target_``: that class.

    The ``_target_`` is checked against the allow-list (``nemo.core.classes.target_allowlist``) before
    anything is imported (``import_class_by_path`` does it).

    Args:
        config: the model config (DictConfig or dict), e.g. ``{"text_normalizer": {"_target_":
            "nemo_text_processing.text_normalization.normalize.Normalizer", "lang": "en", "input_case":
            "cased"}}``.
        key: the config key holding the normalizer.
        **overrides: constructor arguments that replace the config's (FastPitch passes ``whitelist``, the
            restored artifact's path).

    Returns:
        An object with ``normalize(text, ...)``, or None.

    Raises:
        ValueError: the node has no ``_target_``, names a class that cannot be imported or built, or a target
            outside the allow-list (``UnsafeTargetError``); the message names ``<key>._target_`` or the keys.
    """
    from nemo.utils.model_utils import import_class_by_path

    params = _config_node(config, key)
    if params is None:
        return None
    target = params.pop("_target_", None)
    params.update(overrides)
    if not isinstance(target, str) or not target:
        raise ValueError(
            f"Config key '{key}._target_' is missing or empty (got {target!r}). Set it to {OUR_NORMALIZER!r} or "
            f"{NEMO_TEXT_PROCESSING_NORMALIZER!r}, or remove {key!r} to skip normalization."
        )
    source = f"config key '{key}._target_'"
    try:
        cls = import_class_by_path(target, source=source)
    except ImportError as error:
        if target.startswith("nemo_text_processing."):
            logging.warning(
                f"{key}._target_ is {target!r}, but nemo_text_processing cannot be imported ({error}); using "
                f"{OUR_NORMALIZER} (pure Python, English) instead. Install nemo_text_processing to use it, or "
                f"set {key}._target_ to {OUR_NORMALIZER!r} to silence this warning."
            )
            return _instantiate(Normalizer, params, key, OUR_NORMALIZER)
        raise ValueError(
            f"Config key '{key}._target_' names {target!r}, which cannot be imported: {error}. Set "
            f"{key}._target_ to {OUR_NORMALIZER!r} (pure Python, English) or {NEMO_TEXT_PROCESSING_NORMALIZER!r}, "
            f"or remove {key!r} to skip normalization."
        ) from error
    return _instantiate(cls, params, key, target)
