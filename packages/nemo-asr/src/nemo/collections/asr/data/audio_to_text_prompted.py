"""Manifest data for multitask AED models: audio plus a prompted token sequence per utterance.

NeMo 1.23 builds these batches with lhotse (``audio_to_text_lhotse_prompted.PromptedAudioToTextLhotseDataset``);
here a plain manifest-based Dataset gives the same batches::

    (audio (B, T) float, audio_lens (B,), tokens (B, U) padded with the tokenizer's pad_id, token_lens (B,))

A manifest line holds ``audio_filepath`` and ``duration`` (optionally ``offset``), the text (key
``text_field``, default ``text``; ``answer`` when that key is absent), the text's language (key ``lang_field``,
default ``lang``; ``target_lang`` when absent) and the prompt fields ``source_lang``, ``target_lang``,
``taskname`` (``asr`` or ``s2t_translation``) and ``pnc`` (``yes``/``no``/``true``/``false``).

Prompt formats are functions registered by name (:func:`registered_prompt_format_fn`); ``canary`` writes::

    <|startoftranscript|> <|src|> <|transcribe|>|<|translate|> <|tgt|> <|pnc|>|<|nopnc|> TEXT <|endoftext|>

and ``<|startoftranscript|> <|nospeech|> <|endoftext|>`` for an empty text.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from nemo.collections.asr.data.manifest import ManifestError, parse_json_object
from nemo.collections.common.parts.preprocessing.manifest import iter_text_lines
from omegaconf import DictConfig, OmegaConf
from torch.utils.data import DataLoader, Dataset

__all__ = [
    "PROMPT_FORMAT_FNS",
    "PromptedAudioToTextDataset",
    "PromptedUtterance",
    "canary",
    "get_prompt_format_fn",
    "get_prompted_audio_to_text_dataloader",
    "read_prompted_manifest",
    "registered_prompt_format_fn",
]

PROMPT_FIELDS = ("source_lang", "target_lang", "taskname", "pnc")
# Lhotse-only loader options: refused when they would change the batches, since there is no lhotse here.
_REFUSED_WHEN_SET = {
    "batch_duration": "batch by duration",
    "use_bucketing": "bucketing",
    "is_tarred": "tarred audio",
    "tarred_audio_filepaths": "tarred audio",
    "trim_silence": "silence trimming",
    "augmentor": "audio augmentation",
    "max_utts": "an utterance cap",
}


@dataclass
class PromptedUtterance:
    """One manifest line, read.

    Attributes:
        id: ``"<manifest>:<line>"`` (or the position for in-memory entries), for messages.
        audio_filepath: resolved audio path.
        duration: seconds (0: to the end of the file).
        offset: seconds into the file.
        text: the target text.
        language: language of ``text`` (selects the aggregate tokenizer's sub-tokenizer).
        custom: the line's other keys (the prompt fields among them).
    """

    id: str
    audio_filepath: str
    duration: float
    offset: float
    text: str
    language: str | None
    custom: dict[str, Any] = field(default_factory=dict)


def _resolve(path: str, manifest_dir: str | None) -> str:
    if os.path.isabs(path) or manifest_dir is None:
        return path
    beside = os.path.join(manifest_dir, path)
    return path if not os.path.exists(beside) and os.path.exists(path) else beside


def utterance_from_entry(
    entry: Mapping[str, Any],
    where: str,
    manifest_dir: str | None = None,
    text_field: str = "text",
    lang_field: str = "lang",
) -> PromptedUtterance:
    """A :class:`PromptedUtterance` from one manifest dict (see the module docstring for the keys)."""
    if "audio_filepath" not in entry:
        raise ValueError(f"{where}: manifest line has no 'audio_filepath'.")
    text = entry.get(text_field, entry.get("answer") if text_field == "text" else None)
    if text is None:
        raise ValueError(f"{where}: manifest line has no {text_field!r} (nor 'answer') text.")
    language = entry.get(lang_field, entry.get("target_lang"))
    custom = {
        key: value for key, value in entry.items() if key not in ("audio_filepath", "duration", "offset")
    }
    return PromptedUtterance(
        id=where,
        audio_filepath=_resolve(str(entry["audio_filepath"]), manifest_dir),
        duration=float(entry.get("duration") or 0.0),
        offset=float(entry.get("offset") or 0.0),
        text=str(text),
        language=language,
        custom=custom,
    )


def read_prompted_manifest(
    manifest_filepath: str | Sequence[str], text_field: str = "text", lang_field: str = "lang"
) -> list[PromptedUtterance]:
    """Every line of one or more manifests (a list or a comma-separated string); audio paths resolved.

    Blank lines are skipped; an utterance's ``id`` is ``"<manifest>:<line>"``.

    Raises:
        FileNotFoundError: a manifest does not exist.
        ManifestError: a line is not UTF-8 or not one JSON object (naming ``<manifest>:<line>``).
        ValueError: a line lacks ``audio_filepath`` or its text (naming ``<manifest>:<line>``).
    """
    paths = manifest_filepath.split(",") if isinstance(manifest_filepath, str) else list(manifest_filepath)
    utterances = []
    for path in (str(path).strip() for path in paths):
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"Manifest {path!r} does not exist. Check the config key 'manifest_filepath'."
            )
        for number, line in iter_text_lines(path, ManifestError, "manifest"):
            if line.strip():
                where = f"{path}:{number}"
                entry = parse_json_object(line, where)
                utterances.append(
                    utterance_from_entry(entry, where, os.path.dirname(path), text_field, lang_field)
                )
    return utterances


# ------------------------------------------------------------------------------------------- prompt formats
PromptFormatFn = Callable[[Sequence[PromptedUtterance], Any], list[list[int]]]
PROMPT_FORMAT_FNS: dict[str, PromptFormatFn] = {}


def registered_prompt_format_fn(prompt_fn: PromptFormatFn) -> PromptFormatFn:
    """Decorator: make ``prompt_fn`` available to :func:`get_prompt_format_fn` under its function name."""
    PROMPT_FORMAT_FNS[prompt_fn.__name__] = prompt_fn
    return prompt_fn


def get_prompt_format_fn(name: str) -> PromptFormatFn:
    """The prompt format registered as ``name`` (the model config's ``prompt_format``)."""
    if name not in PROMPT_FORMAT_FNS:
        raise ValueError(f"Unknown prompt format {name!r}; registered ones are {sorted(PROMPT_FORMAT_FNS)}.")
    return PROMPT_FORMAT_FNS[name]


@registered_prompt_format_fn
def canary(utterances: Sequence[PromptedUtterance], tokenizer) -> list[list[int]]:
    """Canary's prompted token ids of each utterance (see the module docstring); needs a ``CanaryTokenizer``."""
    from nemo.collections.common.tokenizers.canary_tokenizer import CanaryTokenizer

    if not isinstance(tokenizer, CanaryTokenizer):
        raise TypeError(
            f"The 'canary' prompt format needs a CanaryTokenizer; the model has a {type(tokenizer).__name__}. Set "
            "tokenizer.type: agg with custom_tokenizer._target_: "
            "nemo.collections.common.tokenizers.canary_tokenizer.CanaryTokenizer."
        )
    sequences = []
    for utterance in utterances:
        text_ids = tokenizer.text_to_ids(utterance.text, utterance.language) if utterance.text else []
        if not text_ids:
            sequences.append([tokenizer.bos_id, tokenizer.nospeech_id, tokenizer.eos_id])
            continue
        missing = [key for key in PROMPT_FIELDS if key not in utterance.custom]
        if missing:
            raise ValueError(f"{utterance.id}: manifest line lacks the prompt fields {missing}.")
        task = utterance.custom["taskname"]
        task_ids = {"asr": tokenizer.transcribe_id, "s2t_translation": tokenizer.translate_id}
        if task not in task_ids:
            raise ValueError(f"{utterance.id}: taskname {task!r} is not one of {sorted(task_ids)}.")
        pnc = str(utterance.custom["pnc"]).strip().lower()
        if pnc not in ("yes", "true", "no", "false"):
            raise ValueError(f"{utterance.id}: pnc {utterance.custom['pnc']!r} is not yes/no/true/false.")
        sequences.append(
            [
                tokenizer.bos_id,
                tokenizer.to_language_id(utterance.custom["source_lang"]),
                task_ids[task],
                tokenizer.to_language_id(utterance.custom["target_lang"]),
                tokenizer.pnc_id if pnc in ("yes", "true") else tokenizer.nopnc_id,
                *text_ids,
                tokenizer.eos_id,
            ]
        )
    return sequences


# ------------------------------------------------------------------------------------------------ dataset
class PromptedAudioToTextDataset(Dataset):
    """Utterances -> ``(audio (T,), token ids (U,))`` items; :meth:`collate_fn` pads them into batches.

    Args:
        utterances: the data (see :func:`read_prompted_manifest`).
        tokenizer: the model's tokenizer (``pad_id`` pads the token batch).
        prompt_format_fn: turns utterances into prompted token ids (e.g. :func:`canary`).
        sample_rate: audio is resampled to it.
        channel_selector: channel(s) of multi-channel audio to use (int, list, or ``"average"``).
    """

    def __init__(
        self,
        utterances: Sequence[PromptedUtterance],
        tokenizer,
        prompt_format_fn: PromptFormatFn,
        sample_rate: int = 16000,
        channel_selector=None,
    ) -> None:
        self.utterances = list(utterances)
        self.tokenizer = tokenizer
        self.sample_rate = sample_rate
        self.channel_selector = channel_selector
        self.padding_value = tokenizer.pad_id
        self.tokens = [
            torch.tensor(ids, dtype=torch.long) for ids in prompt_format_fn(self.utterances, tokenizer)
        ]

    def __len__(self) -> int:
        return len(self.utterances)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        from nemo.collections.asr.parts.preprocessing.segment import AudioSegment

        utterance = self.utterances[index]
        segment = AudioSegment.from_file(
            utterance.audio_filepath,
            target_sr=self.sample_rate,
            offset=utterance.offset,
            duration=utterance.duration,
            channel_selector=self.channel_selector,
        )
        return torch.as_tensor(segment.samples, dtype=torch.float32), self.tokens[index]

    def collate_fn(
        self, items: list[tuple[torch.Tensor, torch.Tensor]]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Pad a list of items: ``(audio (B, T), audio_lens (B,), tokens (B, U), token_lens (B,))``."""
        audio = [waveform for waveform, _ in items]
        tokens = [ids for _, ids in items]
        audio_lens = torch.tensor([waveform.shape[0] for waveform in audio], dtype=torch.long)
        token_lens = torch.tensor([ids.shape[0] for ids in tokens], dtype=torch.long)
        padded_audio = torch.nn.utils.rnn.pad_sequence(audio, batch_first=True)
        padded_tokens = torch.nn.utils.rnn.pad_sequence(
            tokens, batch_first=True, padding_value=self.padding_value
        )
        return padded_audio, audio_lens, padded_tokens, token_lens


def get_prompted_audio_to_text_dataloader(
    config: DictConfig | Mapping, tokenizer, prompt_format_fn: PromptFormatFn
) -> DataLoader:
    """A DataLoader from a ``train_ds``/``validation_ds``/``test_ds`` config.

    Keys: ``manifest_filepath``, ``sample_rate``, ``batch_size``, ``shuffle``, ``num_workers``, ``pin_memory``,
    ``drop_last``, ``min_duration``/``max_duration`` (filters), ``text_field``, ``lang_field``,
    ``channel_selector``. ``use_lhotse`` may be set (the batches are the same). Lhotse-only options that change
    the batches (``batch_duration``, ``use_bucketing``, tarred audio...) are refused; the bucketing tuning keys
    (``num_buckets``, ``bucket_buffer_size``, ``quadratic_duration``, ``shuffle_buffer_size``) only act with
    them, so they have no effect here either.
    """
    config = OmegaConf.to_container(config, resolve=True) if OmegaConf.is_config(config) else dict(config)
    for key, what in _REFUSED_WHEN_SET.items():
        if config.get(key):
            raise ValueError(
                f"Dataset config key {key}={config[key]!r} asks for {what}, which this manifest loader does not do "
                f"(NeMo does it with lhotse). Set {key} to null/false and use batch_size."
            )
    if config.get("use_start_end_token") is False:
        raise ValueError(
            "Dataset config use_start_end_token=false: prompted sequences always start with the prompt's start token "
            "and end with the end token. Remove the key or set it to true."
        )
    if not config.get("batch_size"):
        raise ValueError("Dataset config needs batch_size (batch_duration is not supported).")
    utterances = read_prompted_manifest(
        config["manifest_filepath"], config.get("text_field", "text"), config.get("lang_field", "lang")
    )
    low, high = config.get("min_duration"), config.get("max_duration")
    utterances = [
        utterance
        for utterance in utterances
        if (low is None or utterance.duration >= low) and (high is None or utterance.duration <= high)
    ]
    dataset = PromptedAudioToTextDataset(
        utterances,
        tokenizer,
        prompt_format_fn,
        sample_rate=config.get("sample_rate", 16000),
        channel_selector=config.get("channel_selector"),
    )
    return DataLoader(
        dataset,
        batch_size=config["batch_size"],
        shuffle=config.get("shuffle", False),
        num_workers=config.get("num_workers", 0) or 0,
        pin_memory=config.get("pin_memory", False),
        drop_last=config.get("drop_last", False),
        collate_fn=dataset.collate_fn,
    )
