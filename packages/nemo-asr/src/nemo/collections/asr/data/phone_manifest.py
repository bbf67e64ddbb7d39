"""Phone-level training targets: NeMo manifests whose transcripts are rewritten as phones through a lexicon.

A CTC model over phones is an ordinary character ``EncDecCTCModel`` whose ``labels`` are the lexicon's phone
symbols plus the word separator ``" "``: each word of a transcript becomes its pronunciation, one symbol per
phone (``"pound key"`` -> ``"pánd ki"`` with ``data/lexicon``'s symbols). The lexicon beam search
(``decoding.beam.search_type: flashlight``) turns such a model's phones back into words.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from nemo.collections.asr.data.manifest import ManifestError, read_manifest_entries
from nemo.collections.asr.parts.lm.lexicon import read_lexicon

__all__ = ["read_pronunciations", "write_phone_manifest"]


def read_pronunciations(lexicon_path: str | Path) -> dict[str, str]:
    """``word -> phone string``: each word's first pronunciation in a NeMo/flashlight lexicon, phones joined."""
    pronunciations: dict[str, str] = {}
    for entry in read_lexicon(lexicon_path):
        pronunciations.setdefault(entry.word, "".join(entry.spelling))
    return pronunciations


def write_phone_manifest(
    sources: Iterable[str | Path], target: str | Path, pronunciations: dict[str, str], skip_unknown: bool
) -> int:
    """Rewrite NeMo manifests with each transcript as phone strings (one per word); audio paths made absolute.

    Args:
        sources: NeMo manifests (audio paths relative to their folder, or absolute).
        target: the manifest to write.
        pronunciations: ``word -> phone string`` (``read_pronunciations``).
        skip_unknown: leave out an utterance holding a word the lexicon lacks; otherwise that is an error.

    Returns:
        How many utterances were left out.

    Raises:
        ManifestError: an utterance holds a word without a pronunciation and ``skip_unknown`` is false (the
            error names the manifest, the line and the words).
    """
    dropped = 0
    with open(target, "w", encoding="utf-8") as out:
        for source in sources:
            for entry in read_manifest_entries(str(source)):
                unknown = [word for word in entry.text.split() if word not in pronunciations]
                if unknown:
                    if skip_unknown:
                        dropped += 1
                        continue
                    raise ManifestError(
                        f"{entry.where}: no pronunciation for {unknown}. Add them to the lexicon, leave the "
                        "utterance out, or train on letters."
                    )
                phones = " ".join(pronunciations[word] for word in entry.text.split())
                line = entry.to_json(audio_filepath=str(Path(entry.audio_filepath).resolve()), text=phones)
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
    return dropped
