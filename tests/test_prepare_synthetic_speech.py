"""The sentence maker behind data/synthetic (scripts/prepare_synthetic_speech.py), without the TTS engines."""

import importlib.util
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "prepare_synthetic_speech.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("prepare_synthetic_speech", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


def test_recombined_prompts_are_new_sentences_of_training_words():
    script = _load_script()
    prompts = script.read_training_texts(ROOT / "data" / "asterisk" / "train_manifest.json")
    maker = script.SentenceMaker(prompts, ["house", "water", "green"], random.Random(0))
    training_words = {word for prompt in prompts for word in prompt.split()}
    held_out = {
        json.loads(line)["text"] for line in (ROOT / "data" / "asterisk" / "test_manifest.json").open()
    }

    sentences = [maker.recombined_prompt() for _ in range(200)]

    assert not set(sentences) & set(prompts)
    assert not set(sentences) & held_out
    assert all(2 <= len(s.split()) <= maker.MAX_WALK_WORDS + 1 for s in sentences)
    assert all(set(s.split()) <= training_words for s in sentences)
    assert len(set(sentences)) > 150  # walks, not a few memorized paths


def test_common_word_sequences_draw_from_the_word_list_and_sometimes_a_prompt():
    script = _load_script()
    prompts = ["press the pound key", "goodbye"]
    words = ["house", "water", "green", "river"]
    maker = script.SentenceMaker(prompts, words, random.Random(1))

    sentences = [maker.common_word_sequence().split() for _ in range(300)]

    assert all(3 <= len(s) <= 10 for s in sentences)
    prompt_words = {"press", "the", "pound", "key", "goodbye"}
    assert all(set(s) <= set(words) | prompt_words for s in sentences)
    spliced = sum(bool(set(s) & prompt_words) for s in sentences)
    assert 100 < spliced < 200  # about half


def test_common_words_are_frequent_words_the_lexicon_spells():
    script = _load_script()
    ranked = ["the", "of", "b", "a", "x-ray", "zyzzyva"]
    spellable = {"the", "of", "a", "b", "x-ray"}
    assert script.common_words(ranked, spellable, 3) == ["the", "of", "a"]


def test_the_committed_set_holds_no_dev_or_test_text():
    """data/synthetic was made from the train split alone: its recombined prompts (every other clip, the even
    ones) use only training words, and no clip reads a dev or test prompt."""
    asterisk = ROOT / "data" / "asterisk"
    texts = {
        split: [json.loads(line)["text"] for line in (asterisk / f"{split}_manifest.json").open()]
        for split in ("train", "dev", "test")
    }
    training_words = {word for text in texts["train"] for word in text.split()}
    synthetic = [
        json.loads(line)["text"] for line in (ROOT / "data" / "synthetic" / "train_manifest.json").open()
    ]

    assert len(synthetic) == 1600
    assert not set(synthetic) & (set(texts["dev"]) | set(texts["test"]))
    outside = [text for text in synthetic[0::2] if not set(text.split()) <= training_words]
    assert not outside, outside[:5]
