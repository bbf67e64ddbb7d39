from nemo.collections.asr.data.manifest import ManifestEntry
from nemo.collections.asr.data.transcripts import TokenizedTranscripts


def entry(text: str, duration: float) -> ManifestEntry:
    return ManifestEntry("a.wav", duration, text, None, "m.json", 1)


def test_ids_bos_eos_and_dropped_entries():
    entries = [entry("ab", 1.0), entry("skip", 2.0), entry("", 3.0), entry("c", 4.0)]
    parser = lambda text: None if text == "skip" else [ord(ch) - 96 for ch in text]  # noqa: E731
    plain = TokenizedTranscripts(entries, parser)
    assert [e.text for e in plain.entries] == ["ab", "", "c"] and len(plain) == 3
    assert [plain.tokens(i).tolist() for i in range(3)] == [[1, 2], [], [3]]
    assert plain.tokens(0).dtype.is_floating_point is False
    assert plain.durations.tolist() == [1.0, 3.0, 4.0]
    framed = TokenizedTranscripts(entries, parser, bos_id=30, eos_id=31)
    assert [framed.tokens(i).tolist() for i in range(3)] == [[30, 1, 2, 31], [30, 31], [30, 3, 31]]
    assert TokenizedTranscripts(entries, parser, eos_id=31).tokens(1).tolist() == [31]
