"""Shared fixtures for the ASR model, config and CLI tests: real speech, a real tokenizer, tiny configs.

Speech comes from the bundled Asterisk prompts (``data/asterisk``): a handful of short utterances are
decoded once per session into 16 kHz wav files with a NeMo manifest beside them. The sentencepiece
tokenizer is trained once per session on the Asterisk training transcripts.
"""

import json
import string
from dataclasses import dataclass
from pathlib import Path

import pytest
import soundfile as sf
from omegaconf import DictConfig, OmegaConf

REPO_ROOT = Path(__file__).resolve().parents[3]
ASTERISK = REPO_ROOT / "data" / "asterisk"
SAMPLE_RATE = 16000
LABELS = [" "] + list(string.ascii_lowercase) + ["'"]
# Short prompts of different lengths (0.9 s .. 2.4 s) so batches need padding.
SPEECH_PROMPTS = (
    "activated",
    "agent-loggedoff",
    "agent-loginok",
    "auth-thankyou",
    "conf-getpin",
    "vm-goodbye",
)


@pytest.fixture(scope="session", autouse=True)
def single_torch_thread():
    """Run torch on one intra-op thread during the tests.

    The tests use tiny models on a few shared cores; there OpenMP threads spin-wait for each other on every
    small op, which made the transducer tests over ten times slower than on one thread.
    """
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@dataclass
class Speech:
    """Real utterances written as wav files, and a manifest listing them (paths relative to it).

    Attributes:
        folder: where the wav files and ``speech_manifest.json`` are (NeMo refuses a bare
            ``manifest.json`` as a validation set name).
        manifest: the NeMo JSON-lines manifest.
        entries: the manifest lines (``audio_filepath`` relative to ``folder``, ``duration``, ``text``).
    """

    folder: Path
    manifest: Path
    entries: list[dict]

    @property
    def paths(self) -> list[str]:
        """Absolute paths of the wav files, in manifest order."""
        return [str(self.folder / entry["audio_filepath"]) for entry in self.entries]

    @property
    def texts(self) -> list[str]:
        """Transcripts in manifest order."""
        return [entry["text"] for entry in self.entries]


def _asterisk_entries() -> dict[str, dict]:
    """Every non-test prompt (train and dev splits) by name: tests use them as plain speech, not for scoring."""
    lines = [
        line
        for split in ("train", "dev")
        for line in (ASTERISK / f"{split}_manifest.json").read_text(encoding="utf-8").splitlines()
    ]
    entries = (json.loads(line) for line in lines if line.strip())
    return {Path(entry["audio_filepath"]).stem: entry for entry in entries}


@pytest.fixture(scope="session")
def speech(tmp_path_factory) -> Speech:
    """The ``SPEECH_PROMPTS`` utterances decoded from Opus to 16 kHz wav, with their manifest."""
    folder = tmp_path_factory.mktemp("asterisk_speech")
    (folder / "audio").mkdir()
    known = _asterisk_entries()
    entries = []
    for name in SPEECH_PROMPTS:
        source = known[name]
        samples, sample_rate = sf.read(ASTERISK / source["audio_filepath"], dtype="float32")
        assert sample_rate == SAMPLE_RATE, f"{source['audio_filepath']} is {sample_rate} Hz"
        relative = f"audio/{name}.wav"
        sf.write(folder / relative, samples, SAMPLE_RATE, subtype="PCM_16")
        entries.append(
            {"audio_filepath": relative, "duration": len(samples) / SAMPLE_RATE, "text": source["text"]}
        )
    manifest = folder / "speech_manifest.json"
    manifest.write_text("".join(json.dumps(entry) + "\n" for entry in entries), encoding="utf-8")
    return Speech(folder, manifest, entries)


@pytest.fixture(scope="session")
def tokenizer_dir(tmp_path_factory) -> Path:
    """A 64-piece BPE sentencepiece tokenizer trained on the Asterisk training transcripts."""
    from nemo.collections.common.tokenizers.sentencepiece_tokenizer import create_spt_model

    folder = tmp_path_factory.mktemp("spt")
    texts = folder / "train_text.txt"
    texts.write_text(
        "".join(entry["text"] + "\n" for entry in _asterisk_entries().values()), encoding="utf-8"
    )
    model_path, _ = create_spt_model(
        str(texts),
        vocab_size=64,
        sample_size=-1,
        do_lower_case=True,
        tokenizer_type="bpe",
        output_dir=str(folder / "tokenizer"),
    )
    return Path(model_path).parent


def _dataset_section(manifest: Path | None, batch_size: int, shuffle: bool) -> dict:
    return {
        "manifest_filepath": str(manifest) if manifest is not None else None,
        "sample_rate": SAMPLE_RATE,
        "batch_size": batch_size,
        "shuffle": shuffle,
        "num_workers": 0,
        "pin_memory": False,
    }


def _encoder_section(kind: str, feat_in: int) -> dict:
    if kind == "conformer":
        return {
            "_target_": "nemo.collections.asr.modules.ConformerEncoder",
            "feat_in": feat_in,
            "n_layers": 1,
            "d_model": 32,
            "n_heads": 2,
            "subsampling": "striding",
            "subsampling_factor": 4,
            "subsampling_conv_channels": 16,
            "ff_expansion_factor": 2,
            "self_attention_model": "rel_pos",
            "conv_kernel_size": 9,
            "dropout": 0.0,
            "dropout_pre_encoder": 0.0,
            "dropout_emb": 0.0,
            "dropout_att": 0.0,
        }
    if kind == "convasr":
        block = {"repeat": 1, "stride": [1], "dilation": [1], "dropout": 0.0, "separable": True}
        return {
            "_target_": "nemo.collections.asr.modules.ConvASREncoder",
            "feat_in": feat_in,
            "activation": "relu",
            "conv_mask": True,
            "jasper": [
                {**block, "filters": 32, "kernel": [11], "stride": [2], "residual": False},
                {**block, "filters": 32, "kernel": [11], "residual": True},
            ],
        }
    raise ValueError(f"unknown encoder kind {kind!r}; expected 'conformer' or 'convasr'")


def _build_config(
    *,
    kind: str,
    encoder: str,
    manifest: Path | None,
    val_manifest: Path | None,
    tokenizer: Path | None,
    batch_size: int,
    lr: float,
) -> DictConfig:
    features = 32
    cfg: dict = {
        "sample_rate": SAMPLE_RATE,
        "preprocessor": {
            "_target_": "nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor",
            "sample_rate": SAMPLE_RATE,
            "normalize": "per_feature",
            "window_size": 0.025,
            "window_stride": 0.01,
            "window": "hann",
            "features": features,
            "n_fft": 512,
            "dither": 0.0,
            "pad_to": 0,
        },
        "spec_augment": None,
        "encoder": _encoder_section(encoder, features),
        "train_ds": _dataset_section(manifest, batch_size, shuffle=False),
        "validation_ds": _dataset_section(val_manifest, batch_size, shuffle=False),
        "optim": {"name": "adam", "lr": lr},
    }
    if tokenizer is not None:
        cfg["tokenizer"] = {"dir": str(tokenizer), "type": "bpe"}
    else:
        cfg["labels"] = list(LABELS)
        cfg["train_ds"]["labels"] = list(LABELS)
        cfg["validation_ds"]["labels"] = list(LABELS)
    if kind == "ctc":
        cfg["decoder"] = {
            "_target_": "nemo.collections.asr.modules.ConvASRDecoder",
            "feat_in": None,
            "num_classes": -1,
            "vocabulary": list(LABELS) if tokenizer is None else [],
        }
        cfg["decoding"] = {"strategy": "greedy_batch"}
    elif kind == "rnnt":
        cfg["model_defaults"] = {"enc_hidden": 32, "pred_hidden": 32, "joint_hidden": 32}
        cfg["decoder"] = {
            "_target_": "nemo.collections.asr.modules.RNNTDecoder",
            "normalization_mode": None,
            "random_state_sampling": False,
            "blank_as_pad": True,
            "prednet": {"pred_hidden": 32, "pred_rnn_layers": 1, "t_max": None, "dropout": 0.0},
        }
        cfg["joint"] = {
            "_target_": "nemo.collections.asr.modules.RNNTJoint",
            "log_softmax": None,
            "preserve_memory": False,
            "fuse_loss_wer": False,
            "jointnet": {"joint_hidden": 32, "activation": "relu", "dropout": 0.0},
        }
        cfg["decoding"] = {"strategy": "greedy_batch", "greedy": {"max_symbols": 5}}
        cfg["loss"] = {"loss_name": "default"}
    else:
        raise ValueError(f"unknown model kind {kind!r}; expected 'ctc' or 'rnnt'")
    return OmegaConf.create(cfg)


@pytest.fixture(scope="session")
def tiny_asr_config():
    """Factory for tiny model configs (NeMo keys): ``tiny_asr_config(kind="ctc"|"rnnt", ...)``.

    Keyword args: ``encoder`` ("conformer" or "convasr"), ``manifest`` / ``val_manifest`` (train and
    validation manifests, or None), ``tokenizer`` (a sentencepiece dir for the BPE models; None builds a
    character model over ``LABELS``), ``batch_size``, ``lr``.
    """

    def build(
        kind: str = "ctc",
        *,
        encoder: str = "conformer",
        manifest: Path | None = None,
        val_manifest: Path | None = None,
        tokenizer: Path | None = None,
        batch_size: int = 4,
        lr: float = 0.01,
    ) -> DictConfig:
        return _build_config(
            kind=kind,
            encoder=encoder,
            manifest=manifest,
            val_manifest=val_manifest,
            tokenizer=tokenizer,
            batch_size=batch_size,
            lr=lr,
        )

    return build


@pytest.fixture(scope="session")
def cpu_trainer():
    """Factory for a quiet real Lightning ``Trainer`` on CPU: ``cpu_trainer(max_steps=2, **overrides)``."""
    import pytorch_lightning as pl

    def build(max_steps: int = 2, **overrides) -> pl.Trainer:
        options = {
            "accelerator": "cpu",
            "devices": 1,
            "max_steps": max_steps,
            "logger": False,
            "enable_checkpointing": False,
            "enable_progress_bar": False,
            "enable_model_summary": False,
            "num_sanity_val_steps": 0,
            "log_every_n_steps": 1,
        }
        options.update(overrides)
        return pl.Trainer(**options)

    return build


@pytest.fixture
def loss_recorder():
    """A fresh Lightning callback; its ``losses`` list gets the training loss of every step."""
    import pytorch_lightning as pl

    class LossRecorder(pl.Callback):
        def __init__(self) -> None:
            self.losses: list[float] = []

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
            self.losses.append(float(outputs["loss"]))

    return LossRecorder()


def _step_by_step_greedy(model, encoded, length: int, max_symbols: int) -> list[int]:
    import torch

    blank = model.decoder.blank_idx
    tokens: list[int] = []
    prediction, state = model.decoder.predict(torch.tensor([[blank]]), None, add_sos=False)
    for frame in range(length):
        features = encoded[:, frame].view(1, 1, -1)
        for _ in range(max_symbols):
            token = int(model.joint.joint(features, prediction)[0, 0, 0].argmax())
            if token == blank:
                break
            tokens.append(token)
            prediction, state = model.decoder.predict(torch.tensor([[token]]), state, add_sos=False)
    return tokens


@pytest.fixture(scope="session")
def step_by_step_greedy():
    """Reference greedy transducer search, one utterance and one prediction step at a time.

    ``step_by_step_greedy(model, encoded, length, max_symbols) -> token ids``, where ``encoded`` is one
    utterance's (D, T) encoder output and ``length`` its valid frames. It starts from the blank (padding)
    embedding and at each frame emits ``joint.joint``'s argmax until blank or ``max_symbols`` tokens.
    """
    return _step_by_step_greedy


@pytest.fixture
def nemo_log(caplog):
    """``caplog`` that also sees ``nemo.utils.logging`` records (the ``nemo`` logger does not propagate)."""
    import logging

    logger = logging.getLogger("nemo")
    logger.addHandler(caplog.handler)
    yield caplog
    logger.removeHandler(caplog.handler)


def _reference_edit_distance(reference: list, hypothesis: list) -> int:
    """Levenshtein distance (unit costs), written in the tests as the independent reference for WER/CER."""
    row = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        previous, row[0] = row[0], i
        for j, hyp in enumerate(hypothesis, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ref != hyp))
    return row[-1]


@pytest.fixture(scope="session")
def reference_edit_distance():
    """``reference_edit_distance(reference_tokens, hypothesis_tokens) -> int``: the tests' own Levenshtein."""
    return _reference_edit_distance


@pytest.fixture
def half_own_transcripts(speech, tmp_path):
    """``half_own_transcripts(transcripts) -> (references, manifest)``: a validation manifest of ``speech``
    whose every other reference is the model's own transcript of that clip (the others keep the real text).

    A random model shares no word with the real texts (WER 1 everywhere); with half its own transcripts as
    references the corpus WER lies strictly between 0 and 1, so a logged WER can be checked for its value.
    """

    def build(transcripts: list[str]) -> tuple[list[str], Path]:
        references = [
            " ".join(transcript.split()) if index % 2 == 0 else entry["text"]
            for index, (transcript, entry) in enumerate(zip(transcripts, speech.entries))
        ]
        manifest = tmp_path / "mixed_val.json"
        lines = [
            {**entry, "audio_filepath": str(speech.folder / entry["audio_filepath"]), "text": text}
            for entry, text in zip(speech.entries, references)
        ]
        manifest.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
        return references, manifest

    return build
