"""Text helpers of NeMo's dialogue data: intent names, slot spans, slot/action strings and a naive tokenizer.

The dialogue processors and datasets expose these as static methods under NeMo 1.23's names.
"""

from __future__ import annotations

import random
import re
from collections.abc import Hashable, Mapping, Sequence
from itertools import groupby

__all__ = [
    "ACTION_TEMPLATES",
    "camelcase_to_words",
    "continuous_slot_spans",
    "format_actions",
    "linearize_slots",
    "naive_tokenize",
    "normalize_zero_shot_intent",
    "split_indices",
    "unify_bio_slots",
]

ACTION_TEMPLATES = ("values", "slots_values", "acts_slots_values")
_SPLITS = ("train", "dev", "test")
_NON_ALNUM = re.compile(r"([^a-zA-Z0-9])")
_CAPITALISED_WORD = re.compile(r"[A-Z][^A-Z]*")


def normalize_zero_shot_intent(label: str) -> str:
    """``"domain.intent_name"`` -> ``"intent name"``; the intent ``nomatch`` becomes ``"no match"``."""
    parts = label.split(".")
    if len(parts) < 2:
        raise ValueError(f"Intent label {label!r} has no domain prefix: expected 'domain.intent'.")
    intent = parts[1]
    return "no match" if intent == "nomatch" else intent.replace("_", " ")


def continuous_slot_spans(
    slot_ids: Sequence[Hashable], empty_slot_id: Hashable, bio_slot_ids_to_unified_slot_ids: Mapping
) -> dict:
    """Runs of equal (unified) slot ids, as ``{slot_id: [start, exclusive_end]}``, leaving out the empty slot.

    Each id is first mapped through ``bio_slot_ids_to_unified_slot_ids`` so that ``B-x`` and ``I-x`` form one run.
    When a slot id has several runs, the last one is kept.
    """
    spans: dict = {}
    position = 0
    for slot_id, run in groupby(bio_slot_ids_to_unified_slot_ids[s] for s in slot_ids):
        length = sum(1 for _ in run)
        if slot_id != empty_slot_id:
            spans[slot_id] = [position, position + length]
        position += length
    return spans


def unify_bio_slots(slots: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """Map BIO slot names to plain ones (``B-time`` and ``I-time`` -> ``time``).

    Returns:
        ``(bio_slot_ids_to_unified_slot_ids, unified_slots)``: string index of each input slot -> string index in
        ``unified_slots``, and the plain names in first-seen order. Without BIO prefixes it is the identity.
    """
    unified: list[str] = []
    mapping: dict[str, str] = {}
    for index, slot in enumerate(slots):
        plain = slot.replace("I-", "").replace("B-", "")
        if plain not in unified:
            unified.append(plain)
        mapping[str(index)] = str(unified.index(plain))
    return mapping, unified


def camelcase_to_words(label: str) -> str:
    """``"ReserveRestaurant_1"`` -> ``"reserve restaurant"`` (the ``_suffix`` is dropped; ``"none"`` stays)."""
    if label.lower() == "none":
        return "none"
    return " ".join(word.lower() for word in _CAPITALISED_WORD.findall(label.split("_")[0]))


def linearize_slots(slots: Mapping[str, str | Sequence[str]] | Sequence) -> str:
    """``{"time": "7pm", "place": ["field", ...]}`` -> ``"time(7pm), place(field)"`` (first value of a list);
    ``"None"`` when there are no slots."""
    if not slots:
        return "None"
    return ", ".join(
        f"{name}({value if isinstance(value, str) else value[0]})" for name, value in slots.items()
    )


def _format_action(template: str, act: str, slot: str, value: str) -> str:
    if template == "values":
        return value
    if template == "slots_values":
        return f"{slot} ({value})" if value else slot
    if value:
        return f"{act} {slot} ({value})"
    return f"{act} {slot}" if slot else act


def format_actions(prompt_template: str, actions: Sequence[Mapping]) -> str:
    """System actions as one space-joined string, with only the fields ``prompt_template`` asks for.

    Args:
        prompt_template: ``"values"`` (``7pm``), ``"slots_values"`` (``time (7pm)``) or ``"acts_slots_values"``
            (``inform time (7pm)``; the act is lower-cased).
        actions: dicts with ``act``, ``slot`` and ``values`` (only the first value is used).
    """
    if prompt_template not in ACTION_TEMPLATES:
        raise ValueError(
            f"prompt_template is {prompt_template!r}: set model.dataset.prompt_template to one of "
            f"{', '.join(ACTION_TEMPLATES)}."
        )
    return " ".join(
        _format_action(prompt_template, a["act"].lower(), a["slot"], a["values"][0] if a["values"] else "")
        for a in actions
    )


def naive_tokenize(text: str) -> list[str]:
    """Split into alphanumeric runs and single other characters (spaces, punctuation); joining gives ``text``."""
    return [piece for piece in _NON_ALNUM.split(text) if piece]


def split_indices(dataset_split: str, n_samples: int, dev_proportion: int) -> list[int]:
    """Indices of ``dataset_split`` when train and dev come from one file.

    ``dev`` is a random ``dev_proportion`` percent of the samples (Python's global ``random``, so ``random.seed``
    fixes it), ``train`` the rest in order, and ``test`` every sample. The train/dev pair is disjoint only if
    the same seed is set before each call.
    """
    if dataset_split == "test":
        return list(range(n_samples))
    if dataset_split not in _SPLITS:
        raise ValueError(f"dataset_split is {dataset_split!r}: use one of {', '.join(_SPLITS)}.")
    dev = random.sample(range(n_samples), int(n_samples * (dev_proportion / 100)))
    if dataset_split == "dev":
        return dev
    dev_set = set(dev)
    return [index for index in range(n_samples) if index not in dev_set]
