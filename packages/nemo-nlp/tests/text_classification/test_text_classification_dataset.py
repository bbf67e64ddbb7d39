"""``TextClassificationDataset``: NeMo's ``sentence<TAB>label`` files, NeMo's features (each word tokenized on its
own, ``[CLS] ... [SEP]``, NeMo's truncation), errors naming the file and line, nothing written next to the data."""

import json

import pytest
import torch
from nemo.collections.common.tokenizers import AutoTokenizer
from nemo.collections.nlp.data import TextClassificationDataset
from nemo.collections.nlp.data.text_classification import calc_class_weights


@pytest.fixture(scope="module")
def tokenizer(minilm_dir):
    return AutoTokenizer(str(minilm_dir))


def nemo_features(tokenizer: AutoTokenizer, sentence: str, max_seq_length: int = -1) -> list[int]:
    """NeMo's rule written out with the Hugging Face tokenizer itself: every word on its own, then truncation."""
    hf = tokenizer.tokenizer
    tokens = [hf.cls_token] + [token for word in sentence.split() for token in hf.tokenize(word)]
    if max_seq_length > 0 and len(tokens) + 1 > max_seq_length:
        tokens = tokens[: max_seq_length - 1]
    return hf.convert_tokens_to_ids([*tokens, hf.sep_token])


def test_a_file_gives_nemos_features_and_labels_and_skips_the_header(tokenizer, tiny_tsv, sentences):
    dataset = TextClassificationDataset(tokenizer=tokenizer, input_file=str(tiny_tsv), num_classes=2)

    assert len(dataset) == len(sentences)
    for index, (text, label) in enumerate(sentences):
        input_ids, segment_ids, input_mask, item_label = dataset[index]
        assert input_ids.tolist() == nemo_features(tokenizer, text)
        assert segment_ids.tolist() == [0] * len(input_ids) and input_mask.tolist() == [1] * len(input_ids)
        assert item_label == label


def test_queries_tokenize_as_nemo_does_including_accents_punctuation_and_cjk(tokenizer):
    queries = [
        "Héllo, World! naïve café's crème",
        "混合 中文 text with émoji 🙂 ok",
        "  extra   spaces\tand tabs ",
    ]

    dataset = TextClassificationDataset(tokenizer=tokenizer, queries=queries)

    assert [dataset[i][0].tolist() for i in range(3)] == [nemo_features(tokenizer, q) for q in queries]
    assert [dataset[i][3] for i in range(3)] == [-1, -1, -1]


def test_a_space_sensitive_tokenizer_tokenizes_each_word_on_its_own_as_nemo_does(tmp_path):
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": 4, "l": 5, "o": 6, "w": 7, "\u0120": 8}
    vocab.update({"lo": 9, "low": 10, "\u0120l": 11, "\u0120lo": 12, "\u0120low": 13})
    (tmp_path / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    merges = "#version: 0.2\n\u0120 l\n\u0120l o\n\u0120lo w\nl o\nlo w\n"
    (tmp_path / "merges.txt").write_text(merges, encoding="utf-8")
    tokenizer = AutoTokenizer("my-roberta", str(tmp_path / "vocab.json"), str(tmp_path / "merges.txt"))
    assert tokenizer.space_sensitive and tokenizer.text_to_ids("low low") == [10, 13]

    dataset = TextClassificationDataset(tokenizer=tokenizer, queries=["low low", "low"])

    assert dataset[0][0].tolist() == [0, 10, 10, 2]  # <s> low low </s>: each word alone, no space marks
    assert dataset[1][0].tolist() == [0, 10, 2]


def test_long_sentences_keep_their_start_and_end_with_sep(tokenizer):
    text = "a great film with wonderful acting and a beautiful story"

    dataset = TextClassificationDataset(tokenizer=tokenizer, queries=[text], max_seq_length=6)

    assert dataset[0][0].tolist() == nemo_features(tokenizer, text, max_seq_length=6)
    assert len(dataset[0][0]) == 6 and dataset[0][0][-1] == tokenizer.sep_id


def test_collate_pads_to_the_longest_with_pad_id_and_zero_mask(tokenizer, tiny_tsv):
    dataset = TextClassificationDataset(tokenizer=tokenizer, input_file=str(tiny_tsv))

    input_ids, segment_ids, input_mask, labels = dataset.collate_fn([dataset[1], dataset[0]])

    lengths = [len(dataset[1][0]), len(dataset[0][0])]
    assert input_ids.shape == (2, max(lengths)) and input_ids.dtype == torch.int64
    assert input_mask.sum(dim=1).tolist() == lengths
    assert input_ids[0, lengths[0] :].eq(tokenizer.pad_id).all() and segment_ids.eq(0).all()
    assert labels.tolist() == [0, 1]
    assert type(input_mask.neural_type.elements_type).__name__ == "MaskType"


def test_nothing_is_written_next_to_the_data(tokenizer, tiny_tsv):
    before = sorted(tiny_tsv.parent.iterdir())

    TextClassificationDataset(tokenizer=tokenizer, input_file=str(tiny_tsv), use_cache=True, shuffle=True)
    calc_class_weights(str(tiny_tsv), num_classes=2)

    assert sorted(tiny_tsv.parent.iterdir()) == before


def test_a_non_integer_label_is_an_error_naming_the_file_and_line(tokenizer, tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("sentence\tlabel\ngood film\t1\nno label here\tpositive\n", encoding="utf-8")

    with pytest.raises(ValueError, match=rf"{path}:3: the label 'positive' is not an integer"):
        TextClassificationDataset(tokenizer=tokenizer, input_file=str(path))


def test_a_label_outside_the_classes_is_an_error_naming_the_file_and_line(tokenizer, tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("good film\t1\nbad film\t0\nodd film\t2\n", encoding="utf-8")

    with pytest.raises(ValueError, match=rf"{path}:3: unknown label 2; expected a class id in 0 .. 1"):
        TextClassificationDataset(tokenizer=tokenizer, input_file=str(path), num_classes=2)


def test_a_line_with_only_a_label_is_an_error(tokenizer, tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("good film\t1\n0\n", encoding="utf-8")

    with pytest.raises(ValueError, match=rf"{path}:2: the line holds only the label 0 and no text"):
        TextClassificationDataset(tokenizer=tokenizer, input_file=str(path))


def test_a_missing_file_is_an_error_naming_it(tokenizer, tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.tsv' does not exist"):
        TextClassificationDataset(tokenizer=tokenizer, input_file=str(tmp_path / "nope.tsv"))


def test_num_samples_reads_the_first_lines(tokenizer, tiny_tsv):
    dataset = TextClassificationDataset(tokenizer=tokenizer, input_file=str(tiny_tsv), num_samples=3)

    assert len(dataset) == 2  # the header is one of the three lines, as in NeMo


def test_class_weights_are_nemos_inverse_frequencies(tmp_path):
    path = tmp_path / "unbalanced.tsv"
    path.write_text("a\t0\nb\t0\nc\t0\nd\t1\n", encoding="utf-8")

    weights = calc_class_weights(str(path), num_classes=3)

    assert weights == pytest.approx([4 / (2 * 3), 4 / (2 * 1), 1.0])
