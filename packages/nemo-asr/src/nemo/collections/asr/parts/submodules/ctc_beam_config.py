"""``decoding.beam`` of CTC models: NeMo 1.23's config dataclasses, and their parsing and validation.

The dataclasses are importable from :mod:`nemo.collections.asr.parts.submodules.ctc_beam_decoding` too (NeMo's
path). The helpers here turn a dict, DictConfig or dataclass into checked options, with errors naming the
``decoding.beam`` key, and describe how a ``search_type: pyctcdecode`` request maps onto the built-in search.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, is_dataclass
from typing import Any

__all__ = [
    "SEARCH_TYPES",
    "BeamCTCInferConfig",
    "FlashlightConfig",
    "PyCTCDecodeConfig",
    "check_flashlight_setup",
    "check_search_options",
    "flashlight_options",
    "pyctcdecode_options",
    "pyctcdecode_substitution_message",
]

SEARCH_TYPES = ("default", "pyctcdecode", "flashlight")
# NeMo 1.23's other pyctcdecode_cfg keys (prune_history, hotwords), accepted only at these values.
_NEMO_PYCTCDECODE_DEFAULTS = {"prune_history": False, "hotwords": None, "hotword_weight": 10.0}


@dataclass
class PyCTCDecodeConfig:
    """``decoding.beam.pyctcdecode_cfg``: pruning of the LM-fused search (natural-log units).

    Attributes:
        beam_prune_logp: drop prefixes scoring this far below the best one at a frame.
        token_min_logp: per frame, extend only with tokens at least this likely (the best one always).
        unk_score_offset: one-time score of a partial word that begins no LM word (pyctcdecode's decoder
            argument; not a NeMo 1.23 key).
    """

    beam_prune_logp: float = -10.0
    token_min_logp: float = -5.0
    unk_score_offset: float = -10.0


@dataclass
class FlashlightConfig:
    """``decoding.beam.flashlight_cfg``: options of the lexicon search (``search_type: flashlight``).

    Attributes:
        lexicon_path: pronunciation lexicon (see :mod:`nemo.collections.asr.parts.lm.lexicon`).
        boost_path: word boosting file; not supported (must be null).
        beam_size_token: tokens tried per frame (the most likely ones).
        beam_threshold: drop prefixes scoring more than this below the best one at a frame.
        unk_weight: added to the ``<unk>`` score of a lexicon word the LM does not know; ``-inf`` never emits one.
        sil_weight: added per word-separator token.
    """

    lexicon_path: str | None = None
    boost_path: str | None = None
    beam_size_token: int = 16
    beam_threshold: float = 20.0
    unk_weight: float = float("-inf")
    sil_weight: float = 0.0


@dataclass
class BeamCTCInferConfig:
    """``decoding.beam``: options of the prefix beam search."""

    beam_size: int = 4
    search_type: str = "default"
    preserve_alignments: bool = False
    compute_timestamps: bool = False
    return_best_hypothesis: bool = True
    beam_alpha: float = 1.0
    beam_beta: float = 0.0
    kenlm_path: str | None = None
    flashlight_cfg: FlashlightConfig = field(default_factory=FlashlightConfig)
    pyctcdecode_cfg: PyCTCDecodeConfig = field(default_factory=PyCTCDecodeConfig)


def check_search_options(
    beam_size: int, search_type: str, preserve_alignments: bool, compute_timestamps: bool
) -> None:
    """Refuse a beam size, search type or output option that the beam search cannot honour."""
    if beam_size < 1:
        raise ValueError(f"decoding.beam.beam_size must be >= 1, got {beam_size}.")
    if search_type not in SEARCH_TYPES:
        raise ValueError(
            f"decoding.beam.search_type is {search_type!r}; expected one of {SEARCH_TYPES} (default and "
            "pyctcdecode run the fused prefix search, flashlight the lexicon search). nemo needs a decoder "
            "that is not shipped here."
        )
    if preserve_alignments or compute_timestamps:
        raise ValueError(
            "decoding.beam.preserve_alignments and decoding.beam.compute_timestamps are not supported by the "
            "beam search. Set them to false, or use decoding.strategy=greedy."
        )


def flashlight_options(flashlight_cfg: Any) -> FlashlightConfig:
    """``decoding.beam.flashlight_cfg`` as a :class:`FlashlightConfig` (numbers coerced, unknown keys refused)."""
    if is_dataclass(flashlight_cfg):
        flashlight_cfg = asdict(flashlight_cfg)
    options = dict(flashlight_cfg or {})
    known = [option.name for option in fields(FlashlightConfig)]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ValueError(
            f"decoding.beam.flashlight_cfg has unknown keys {unknown}; expected some of {known}. Remove them."
        )
    config = FlashlightConfig(**options)
    config.beam_size_token = int(config.beam_size_token)
    config.beam_threshold = float(config.beam_threshold)
    config.unk_weight = float(config.unk_weight)
    config.sil_weight = float(config.sil_weight)
    return config


def check_flashlight_setup(config: FlashlightConfig, kenlm_path: str | None) -> None:
    """Refuse a ``search_type: flashlight`` config that the lexicon search cannot run, saying which key to set."""
    if config.boost_path is not None:
        raise ValueError(
            f"decoding.beam.flashlight_cfg.boost_path={config.boost_path!r}: word boosting is not supported by "
            "this lexicon search. Set boost_path to null."
        )
    if config.lexicon_path is None or kenlm_path is None:
        raise ValueError(
            "decoding.beam.search_type=flashlight runs the lexicon search, which needs both "
            f"decoding.beam.flashlight_cfg.lexicon_path (got {config.lexicon_path!r}) and decoding.beam.kenlm_path "
            f"(got {kenlm_path!r}). Set both, or use search_type=default for the search without a lexicon."
        )
    if config.beam_size_token < 1:
        raise ValueError(
            f"decoding.beam.flashlight_cfg.beam_size_token must be >= 1, got {config.beam_size_token}. "
            "Pass the number of tokens to try per frame (NeMo's default: 16)."
        )
    if not config.beam_threshold > 0:
        raise ValueError(
            f"decoding.beam.flashlight_cfg.beam_threshold must be > 0, got {config.beam_threshold}. Pass the score "
            "margin below the best prefix within which prefixes are kept (NeMo's default: 20.0)."
        )


def pyctcdecode_options(pyctcdecode_cfg: Any) -> PyCTCDecodeConfig:
    """``decoding.beam.pyctcdecode_cfg`` as a :class:`PyCTCDecodeConfig`.

    NeMo 1.23's keys this search does not implement are accepted at their NeMo defaults only.
    """
    if is_dataclass(pyctcdecode_cfg):
        pyctcdecode_cfg = asdict(pyctcdecode_cfg)
    options = dict(pyctcdecode_cfg or {})
    known = {option.name for option in fields(PyCTCDecodeConfig)}
    unsupported = {
        key: value
        for key, value in options.items()
        if key not in known and _NEMO_PYCTCDECODE_DEFAULTS.get(key, object()) != value
    }
    if unsupported:
        raise ValueError(
            f"decoding.beam.pyctcdecode_cfg has unsupported options {unsupported}; this search reads "
            f"{sorted(known)} (and accepts {sorted(_NEMO_PYCTCDECODE_DEFAULTS)} at NeMo's defaults "
            f"{_NEMO_PYCTCDECODE_DEFAULTS}). Remove those keys."
        )
    return PyCTCDecodeConfig(**{key: value for key, value in options.items() if key in known})


def pyctcdecode_substitution_message(
    beam_size: int,
    beam_alpha: float,
    beam_beta: float,
    kenlm_path: str | None,
    pyctcdecode_cfg: PyCTCDecodeConfig,
) -> str:
    """The log message of a ``search_type: pyctcdecode`` setup: which search runs instead of pyctcdecode, and
    what each ``decoding.beam`` key does in it (one line per key, with its value)."""
    prune = pyctcdecode_cfg.beam_prune_logp
    lines = [
        "decoding.beam.search_type=pyctcdecode (or decoding.strategy=pyctcdecode): the pyctcdecode library is not "
        "used, even when installed; the built-in CTC prefix beam search "
        "(nemo.collections.asr.parts.submodules.ctc_prefix_search) runs in its place. Its keys map as follows:",
        f"  beam_size={beam_size} -> prefixes kept per frame (pyctcdecode's beam_width)",
    ]
    if not kenlm_path:
        lines += [
            f"  kenlm_path={kenlm_path!r} -> no LM: prefixes are ranked by their acoustic score alone, every token tried at "
            "every frame (ctc_prefix_beam_search)",
            f"  beam_alpha={beam_alpha}, beam_beta={beam_beta}, pyctcdecode_cfg.beam_prune_logp={prune}, "
            f"pyctcdecode_cfg.token_min_logp={pyctcdecode_cfg.token_min_logp}, "
            f"pyctcdecode_cfg.unk_score_offset={pyctcdecode_cfg.unk_score_offset} -> not used without kenlm_path",
        ]
    else:
        lines += [
            f"  kenlm_path={kenlm_path!r} -> an ARPA word n-gram file, read by "
            "nemo.collections.asr.parts.lm.ngram_lm (KenLM binaries are refused) and fused by "
            "ctc_prefix_beam_search_with_lm (pyctcdecode's kenlm_model_path)",
            f"  beam_alpha={beam_alpha} -> weight of ln P_LM(word | previous words) (pyctcdecode's alpha)",
            f"  beam_beta={beam_beta} -> score added per completed word (pyctcdecode's beta)",
            f"  pyctcdecode_cfg.beam_prune_logp={prune} -> prefixes more than {-prune} below the frame's best are "
            "dropped (pyctcdecode's beam_prune_logp)",
            f"  pyctcdecode_cfg.token_min_logp={pyctcdecode_cfg.token_min_logp} -> per frame, tokens less likely "
            "than this are not tried, the most likely one always is (pyctcdecode's token_min_logp)",
            f"  pyctcdecode_cfg.unk_score_offset={pyctcdecode_cfg.unk_score_offset} -> one-time score of a partial "
            "word that begins no LM word (pyctcdecode's unk_score_offset)",
        ]
    defaults = ", ".join(f"{key}={value}" for key, value in _NEMO_PYCTCDECODE_DEFAULTS.items())
    lines.append(
        f"  pyctcdecode_cfg.{', '.join(_NEMO_PYCTCDECODE_DEFAULTS)} -> not implemented: accepted only at NeMo's "
        f"defaults ({defaults}); other values are refused with an error"
    )
    return "\n".join(lines)
