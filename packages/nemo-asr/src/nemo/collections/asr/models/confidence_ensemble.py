"""ConfidenceEnsembleModel: several ASR models; per utterance, the output of the one a classifier picks from their
confidence scores (Gitman et al., "Confidence-based Ensembles of End-to-End Speech Recognition Models",
arXiv:2306.15824). NeMo 1.23's class, config keys and helpers.

Config::

    model_selection_block: selector.pkl   # joblib file: a fitted sklearn classifier, confidences -> model index
    confidence: {exclude_blank: true, aggregation: mean, method_cfg: {name: entropy, ...}}   # ConfidenceConfig
    temperature: 1.0                      # set on every model's decoding
    num_models: 2                         # with model0 ... model<N-1>: model configs (each with `target`)
    # or instead of num_models/modelX:
    load_models: [a.nemo, b.nemo]

Only ``transcribe`` is supported (the ensemble needs whole-utterance confidences). The selection block is a
pickle; it is read with an unpickler that accepts only the classes a scikit-learn / numpy / scipy model is made
of, so a ``.nemo`` (which packs the block) cannot run code when restored.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from nemo.collections.asr.models.asr_model import ASRModel
from nemo.collections.asr.models.hybrid_rnnt_ctc_models import EncDecHybridRNNTCTCModel
from nemo.collections.asr.parts.utils.asr_confidence_utils import (
    ConfidenceConfig,
    ConfidenceMethodConfig,
    get_confidence_aggregation_bank,
    get_confidence_measure_bank,
)
from nemo.collections.asr.parts.utils.rnnt_utils import Hypothesis
from nemo.core.classes.modelPT import ModelPT
from nemo.utils import model_utils
from omegaconf import DictConfig, OmegaConf, open_dict

__all__ = ["ConfidenceEnsembleModel", "ConfidenceSpec", "compute_confidence", "get_filtered_logprobs"]


@dataclass(frozen=True)
class ConfidenceSpec:
    """A confidence setting in the compact form the ensemble tuning scripts search over.

    Args:
        exclude_blank: score only frames whose best label is not blank.
        aggregation: ``mean``, ``min``, ``max`` or ``prod`` over the utterance.
        confidence_type: ``max_prob`` or ``entropy_<type>_<norm>`` (e.g. ``entropy_renyi_lin``).
        alpha: the entropy's alpha.
    """

    exclude_blank: bool
    aggregation: str
    confidence_type: str
    alpha: float

    def to_confidence_config(self) -> ConfidenceConfig:
        """The equivalent ``ConfidenceConfig``."""
        if self.confidence_type == "max_prob":
            method = ConfidenceMethodConfig(name="max_prob", alpha=self.alpha)
        else:
            parts = self.confidence_type.split("_")
            if len(parts) != 3 or parts[0] != "entropy":
                raise ValueError(
                    f"confidence_type={self.confidence_type!r}; expected 'max_prob' or 'entropy_<type>_<norm>'."
                )
            method = ConfidenceMethodConfig(
                name="entropy", entropy_type=parts[1], alpha=self.alpha, entropy_norm=parts[2]
            )
        return ConfidenceConfig(
            exclude_blank=self.exclude_blank, aggregation=self.aggregation, method_cfg=method
        )


def _frame_log_probs(hypothesis: Hypothesis) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-emission log-probabilities (S, V) and chosen labels (S,) of a hypothesis decoded with alignments.

    Transducer hypotheses keep ``alignments`` as per-frame lists of ``(log_probs (V,), label)``; CTC ones as
    ``(log_probs (T, V), labels (T,))``, or (NeMo) the (T, V) log-probabilities in ``y_sequence``.
    """
    alignments = hypothesis.alignments
    if isinstance(alignments, list):
        emissions = [emission for frame in alignments for emission in frame]
        if not emissions:
            raise ValueError(
                "The transducer hypothesis has empty alignments; decode with preserve_alignments."
            )
        log_probs = torch.stack([torch.as_tensor(emission[0]) for emission in emissions])
        labels = torch.stack([torch.as_tensor(emission[1]).reshape(()) for emission in emissions])
        return log_probs, labels
    if isinstance(alignments, tuple) and len(alignments) == 2 and torch.as_tensor(alignments[0]).dim() == 2:
        log_probs = torch.as_tensor(alignments[0])
        return log_probs, log_probs.argmax(-1)
    sequence = hypothesis.y_sequence
    if torch.is_tensor(sequence) and sequence.dim() == 2 and sequence.is_floating_point():
        return sequence, sequence.argmax(-1)
    raise ValueError(
        "The hypothesis carries no per-frame log-probabilities; decode with `preserve_alignments: true` "
        "(ConfidenceEnsembleModel sets it on its models)."
    )


def get_filtered_logprobs(hypothesis: Hypothesis, exclude_blank: bool) -> torch.Tensor:
    """Log-probabilities (S, V) of a hypothesis' emissions, blank emissions dropped with ``exclude_blank``.

    The blank is the last of the V classes. When every emission is blank, the first one is kept. Rows are
    log-softmaxed if they are not normalised already.
    """
    log_probs, labels = _frame_log_probs(hypothesis)
    if exclude_blank:
        kept = log_probs[labels != log_probs.shape[-1] - 1]
        log_probs = kept if kept.shape[0] else log_probs[:1]
    log_probs = log_probs.float()
    if not torch.allclose(log_probs[0].exp().sum(), torch.tensor(1.0)):
        log_probs = log_probs.log_softmax(dim=-1)
    return log_probs


def compute_confidence(hypothesis: Hypothesis, confidence_cfg: ConfidenceConfig) -> float:
    """One confidence score for a whole utterance: the configured measure per emission, then aggregated."""
    log_probs = get_filtered_logprobs(hypothesis, confidence_cfg.exclude_blank)
    method = confidence_cfg.method_cfg
    if method.name == "max_prob":
        name, alpha = "max_prob", 1.0
    else:
        name, alpha = f"entropy_{method.entropy_type}_{method.entropy_norm}", method.alpha
    scores = get_confidence_measure_bank()[name](log_probs, log_probs.shape[-1], alpha)
    return float(get_confidence_aggregation_bank()[confidence_cfg.aggregation](scores.tolist()))


# ------------------------------------------------------------------------------------------ selection block
_SELECTOR_MODULE_PREFIXES = ("sklearn.", "numpy.", "scipy.")
_SELECTOR_GLOBALS = {
    ("builtins", name)
    for name in (
        "dict",
        "list",
        "tuple",
        "set",
        "frozenset",
        "slice",
        "complex",
        "float",
        "int",
        "str",
        "bytes",
    )
} | {
    ("builtins", "bytearray"),
    ("builtins", "bool"),
    ("builtins", "object"),
    ("collections", "OrderedDict"),
    ("collections", "defaultdict"),
    ("copyreg", "_reconstructor"),
    ("_codecs", "encode"),
    ("joblib.numpy_pickle", "NumpyArrayWrapper"),
    ("numpy", "dtype"),
    ("numpy", "ndarray"),
}
_NUMPY_RECONSTRUCTORS = {"_reconstruct", "scalar", "_frombuffer"}


def _allowed_global(module: str, name: str, resolved: Any) -> bool:
    if (module, name) in _SELECTOR_GLOBALS:
        return True
    if module in (
        "numpy.core.multiarray",
        "numpy._core.multiarray",
        "numpy.core.numeric",
        "numpy._core.numeric",
    ):
        return name in _NUMPY_RECONSTRUCTORS
    if not module.startswith(_SELECTOR_MODULE_PREFIXES) and module not in ("numpy", "scipy", "sklearn"):
        return False
    # Library classes only (not functions such as numpy.load); memmap would write files.
    return isinstance(resolved, type) and resolved is not np.memmap


def load_model_selection_block(path: str) -> Any:
    """Read a joblib-saved selection block, refusing any pickled global but scikit-learn/numpy/scipy classes.

    Raises:
        ValueError: the file references something else (e.g. a function that would run on load).
    """
    from joblib import numpy_pickle

    class _SelectorUnpickler(numpy_pickle.NumpyUnpickler):
        def find_class(self, module: str, name: str) -> Any:
            allowed_prefix = (
                (module, name) in _SELECTOR_GLOBALS
                or module.startswith(_SELECTOR_MODULE_PREFIXES)
                or module in ("numpy", "scipy", "sklearn")
            )
            resolved = super().find_class(module, name) if allowed_prefix else None
            if not allowed_prefix or not _allowed_global(module, name, resolved):
                raise ValueError(
                    f"model_selection_block {path!r} references {module}.{name}, which a scikit-learn selector "
                    "does not need; refusing to load it. Re-save the selector with joblib.dump(pipeline, path)."
                )
            return resolved

    with open(path, "rb") as handle:
        data = handle.read()
    with numpy_pickle._validate_fileobject_and_memmap(io.BytesIO(data), path, None) as (fileobj, _):
        return _SelectorUnpickler(path, fileobj, ensure_native_byte_order=True).load()


# ----------------------------------------------------------------------------------------------- the model
class ConfidenceEnsembleModel(ModelPT):
    """Ensemble of ASR models choosing, per utterance, the transcript of the model a selector picks.

    Submodels are ``model0`` ... ``model<N-1>`` (attributes and config keys). Their decoding keeps alignments
    (for the confidences) and uses the ensemble's ``temperature``.
    """

    def __init__(self, cfg: DictConfig, trainer=None) -> None:
        super().__init__(cfg=cfg, trainer=trainer)
        if "num_models" in self._cfg:
            self.num_models = int(self._cfg.num_models)
            for index in range(self.num_models):
                field = f"model{index}"
                if field not in self._cfg:
                    raise ValueError(
                        f"num_models is {self.num_models} but the config has no `{field}` section."
                    )
                model_cfg = self._cfg[field]
                model_class = model_utils.import_class_by_path(model_cfg["target"])
                self.register_nemo_submodule(
                    field, config_field=field, model=model_class(model_cfg, trainer=trainer)
                )
        elif "load_models" in self._cfg:
            self.num_models = len(self._cfg.load_models)
            with open_dict(self._cfg):
                self._cfg.num_models = self.num_models
            for index, source in enumerate(self._cfg.load_models):
                if str(source).endswith(".nemo"):
                    model = ASRModel.restore_from(str(source), trainer=trainer, map_location="cpu")
                else:
                    model = ASRModel.from_pretrained(str(source), map_location="cpu")
                self.register_nemo_submodule(f"model{index}", config_field=f"model{index}", model=model)
        else:
            raise ValueError(
                "ConfidenceEnsembleModel needs `num_models` with `model0`...`model<N-1>` sections, or `load_models` "
                "(a list of .nemo paths or pretrained names)."
            )
        if "model_selection_block" not in self._cfg:
            raise ValueError(
                "`model_selection_block` (a joblib-saved sklearn classifier) is missing from the config."
            )
        selector_path = self.register_artifact("model_selection_block", self._cfg.model_selection_block)
        self.model_selection_block = load_model_selection_block(selector_path)
        confidence = self._cfg.get("confidence")
        if OmegaConf.is_config(confidence):
            confidence = OmegaConf.to_container(confidence, resolve=True)
        self.confidence_cfg = ConfidenceConfig(**(confidence or {}))
        for model in self._models():
            if isinstance(model, EncDecHybridRNNTCTCModel):
                self.update_decoding_parameters(model.cfg.decoding)
                model.change_decoding_strategy(model.cfg.decoding, decoder_type="rnnt")
                self.update_decoding_parameters(model.cfg.aux_ctc.decoding)
                model.change_decoding_strategy(model.cfg.aux_ctc.decoding, decoder_type="ctc")
            else:
                self.update_decoding_parameters(model.cfg.decoding)
                model.change_decoding_strategy(model.cfg.decoding)

    def _models(self) -> list[ModelPT]:
        return [getattr(self, f"model{index}") for index in range(self.num_models)]

    def update_decoding_parameters(self, decoding_cfg: DictConfig) -> None:
        """In place: the ensemble's ``temperature`` and ``preserve_alignments: true`` (confidences need them)."""
        with open_dict(decoding_cfg):
            decoding_cfg.temperature = self._cfg.get("temperature", 1.0)
            decoding_cfg.preserve_alignments = True

    # -------------------------------------------------------------------------------------- pass-through
    def setup_training_data(self, train_data_config: DictConfig | dict) -> None:
        """Pass the config to every model (the ensemble itself does not train)."""
        for model in self._models():
            model.setup_training_data(train_data_config)

    def setup_validation_data(self, val_data_config: DictConfig | dict) -> None:
        """Pass the config to every model."""
        for model in self._models():
            model.setup_validation_data(val_data_config)

    def change_attention_model(
        self,
        self_attention_model: str | None = None,
        att_context_size: list[int] | None = None,
        update_config=True,
    ) -> None:
        """Pass to every model."""
        for model in self._models():
            model.change_attention_model(self_attention_model, att_context_size, update_config)

    def change_decoding_strategy(
        self, decoding_cfg: DictConfig | None = None, decoder_type: str | None = None
    ) -> None:
        """Give every model ``decoding_cfg`` (with the ensemble's temperature and alignments kept).

        Args:
            decoding_cfg: the decoding config.
            decoder_type: for hybrid models, the head it is for (``"rnnt"`` or ``"ctc"``).
        """
        if decoding_cfg is None:
            raise ValueError("ConfidenceEnsembleModel.change_decoding_strategy needs a decoding_cfg.")
        decoding_cfg = (
            OmegaConf.create(decoding_cfg) if not OmegaConf.is_config(decoding_cfg) else decoding_cfg
        )
        self.update_decoding_parameters(decoding_cfg)
        for model in self._models():
            if isinstance(model, EncDecHybridRNNTCTCModel):
                model.change_decoding_strategy(decoding_cfg, decoder_type=decoder_type)
            else:
                model.change_decoding_strategy(decoding_cfg)

    # ------------------------------------------------------------------------------------------ inference
    @torch.no_grad()
    def transcribe(
        self,
        paths2audio_files: Sequence[Any],
        batch_size: int = 4,
        return_hypotheses: bool = False,
        num_workers: int = 0,
        channel_selector=None,
        augmentor=None,
        verbose: bool = True,
        **kwargs,
    ) -> list:
        """Transcribe with every model, score each utterance's confidence per model, let the selector choose.

        Args:
            return_hypotheses: return the chosen Hypothesis objects instead of their texts.
            kwargs: passed to every model's ``transcribe``.

        Returns:
            One transcript (or Hypothesis) per input, from the model the selector picked for it.
        """
        confidences, outputs = [], []
        for model in self._models():
            result = model.transcribe(
                paths2audio_files,
                batch_size=batch_size,
                return_hypotheses=True,
                num_workers=num_workers,
                channel_selector=channel_selector,
                augmentor=augmentor,
                verbose=verbose,
                **kwargs,
            )
            hypotheses = result[0] if isinstance(result, tuple) else result
            confidences.append(
                [compute_confidence(hypothesis, self.confidence_cfg) for hypothesis in hypotheses]
            )
            outputs.append(hypotheses)
        features = np.array(confidences, dtype=np.float64).T  # (utterances, models)
        chosen = self.model_selection_block.predict(features)
        picked = [outputs[int(model_index)][item] for item, model_index in enumerate(chosen)]
        return picked if return_hypotheses else [hypothesis.text for hypothesis in picked]

    @classmethod
    def list_available_models(cls) -> list:
        """No pretrained ensembles are known."""
        return []
