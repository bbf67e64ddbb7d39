"""A tiny generated corpus shared by the tokenizer tests."""

import random

import pytest

WORDS = "the quick brown fox jumps over lazy dog speech model audio token piece sound wave".split()


@pytest.fixture(scope="session")
def corpus_file(tmp_path_factory):
    """400 random sentences of 3-9 words from a 15-word list, seeded, one per line."""
    rng = random.Random(1234)
    lines = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 9))) for _ in range(400)]
    path = tmp_path_factory.mktemp("corpus") / "text.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
