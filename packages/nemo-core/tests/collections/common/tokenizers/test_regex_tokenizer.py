"""RegExTokenizer on a small SMILES vocabulary worked out by hand."""

import pytest
from nemo.collections.common.tokenizers.regex_tokenizer import RegExTokenizer

SMILES_REGEX = r"\[[^\]]+]|Br?|Cl?|N|O|c|\(|\)|=|[0-9]"


def test_regex_matches_first_then_single_characters():
    tokenizer = RegExTokenizer(regex=SMILES_REGEX)
    assert tokenizer.text_to_tokens("Br[C@H](Cl)c1Z") == ["Br", "[C@H]", "(", "Cl", ")", "c", "1", "Z"]
    assert RegExTokenizer().text_to_tokens("ab") == ["a", "b"]  # no regex: characters


def test_vocab_from_csv_skips_blank_lines_and_adds_tokens_in_order(tmp_path):
    data = tmp_path / "mols.csv"
    data.write_text("id,smiles\n1,CCO\n   \n2,c1ccN1\n", encoding="utf-8")
    tokenizer = RegExTokenizer(regex=SMILES_REGEX)
    tokenizer.build_vocab_from_csv(str(data))
    # Ids 0-5 are <PAD> ? ^ & <MASK> <SEP>; then C, O, c, 1, N in order of first appearance.
    assert tokenizer.vocab_size == 11
    assert tokenizer.text_to_ids("NCZ") == [10, 6, 1]  # Z is unknown: the unk id 1
    assert tokenizer.tokens_to_ids([["c", "O"], "1"]) == [[8, 7], [9]]
    assert tokenizer.ids_to_tokens([2, 6, 3]) == ["^", "C", "&"]
    assert tokenizer.ids_to_tokens([[6], [7]]) == [["C"], ["O"]]
    with pytest.raises(ValueError, match="no column 'smile'"):
        tokenizer.build_vocab_from_csv(str(data), col="smile")
    with pytest.raises(ValueError, match="Token id 99 is not recognised"):
        tokenizer.ids_to_tokens([99])


def test_tokens_to_text_drops_bos_and_cuts_at_eos():
    tokenizer = RegExTokenizer(regex=SMILES_REGEX)
    assert tokenizer.tokens_to_text([["^", "C", "O", "&", "N"], ["C", "l"]]) == ["CO", "Cl"]
    assert "".join(tokenizer.tokens_to_text(["^", "C", "&"])) == "C"


def test_save_and_load_round_trip_whole_tokens(tmp_path):
    tokenizer = RegExTokenizer(regex=SMILES_REGEX)
    tokenizer.build_vocab_from_text(str(_write(tmp_path / "mols.txt", "Br[C@H]\nCl\n")))
    tokenizer.save_tokenizer(str(tmp_path / "tok.model"))
    assert (tmp_path / "tok.vocab").read_text().split("\n")[:8] == [
        "<PAD>",
        "?",
        "^",
        "&",
        "<MASK>",
        "<SEP>",
        "Br",
        "[C@H]",
    ]

    loaded = RegExTokenizer().load_tokenizer(regex_file=str(tmp_path / "tok.model"))
    assert loaded.regex == SMILES_REGEX
    assert loaded.vocab == tokenizer.vocab
    assert loaded.text_to_ids("ClBr") == [8, 6]
    with pytest.raises(ValueError, match="regex_file must be specified"):
        RegExTokenizer().save_tokenizer()


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path
