"""CTC beam search decoding (``BeamCTCInfer`` through ``CTCDecoding``): alone, fused with a word n-gram LM, and
constrained by a lexicon (real ARPA and lexicon files, real tokenizers, real models). The searches over one utterance
are tested in ``test_ctc_prefix_search.py``, the LM scoring in ``tests/parts/lm/``."""

import logging
import math
import string
from dataclasses import asdict, fields
from pathlib import Path

import pytest
import torch
from nemo.collections.asr.metrics.wer import WER
from nemo.collections.asr.parts.lm.lexicon import LexiconFormatError
from nemo.collections.asr.parts.lm.ngram_lm import ArpaFormatError, estimate_ngram_lm
from nemo.collections.asr.parts.submodules import ctc_beam_decoding, ctc_decoding, ctc_prefix_search
from nemo.collections.asr.parts.submodules.ctc_beam_decoding import (
    BeamCTCInfer,
    BeamCTCInferConfig,
    FlashlightConfig,
    PyCTCDecodeConfig,
)
from nemo.collections.asr.parts.submodules.ctc_decoding import CTCBPEDecoding, CTCDecoding

ASTERISK_TRAIN = Path(__file__).resolve().parents[5] / "data" / "asterisk" / "train_manifest.json"
CHARS = [" ", *string.ascii_lowercase, "'"]
LM_SENTENCES = [
    "please enter your number followed by the pound key",
    "press the pound key",
    "enter the pound key now",
]


@pytest.fixture
def pound_key_arpa(tmp_path) -> str:
    path = tmp_path / "pound_key.arpa"
    estimate_ngram_lm(LM_SENTENCES, order=3).write_arpa(path)
    return str(path)


def spell(
    tokens: list[int], vocab_size: int, confusions: dict[int, tuple[int, float]] | None = None
) -> torch.Tensor:
    """(T, V) log-probabilities: one confident frame per token, each followed by a blank frame (blank = last).

    ``confusions[i] = (other, p)`` gives token ``other`` probability ``p`` in token i's frame, the token 0.55.
    """
    blank = vocab_size - 1
    rows = []
    for index, token in enumerate(tokens):
        probs = torch.full((vocab_size,), 1e-3)
        if confusions and index in confusions:
            other, p = confusions[index]
            probs[token], probs[other] = 0.55, p
        else:
            probs[token] = 0.9
        rows.append(probs / probs.sum())
        pause = torch.full((vocab_size,), 1e-3)
        pause[blank] = 0.95
        rows.append(pause / pause.sum())
    return torch.stack(rows).log()


def char_ids(text: str) -> list[int]:
    return [CHARS.index(c) for c in text]


def beam_cfg(**beam) -> dict:
    return {"strategy": "beam", "beam": {"beam_size": 16, **beam}}


def test_lm_repairs_a_near_miss_that_the_acoustics_prefer(pound_key_arpa):
    text = "followed by the pound kee"
    log_probs = spell(char_ids(text), len(CHARS) + 1, {len(text) - 1: (CHARS.index("y"), 0.35)})[None]

    greedy, _ = CTCDecoding({"strategy": "greedy"}, vocabulary=CHARS).ctc_decoder_predictions_tensor(
        log_probs
    )
    acoustic, _ = CTCDecoding(
        beam_cfg(kenlm_path=pound_key_arpa, beam_alpha=0.0), CHARS
    ).ctc_decoder_predictions_tensor(log_probs)
    fused, _ = CTCDecoding(
        beam_cfg(kenlm_path=pound_key_arpa, beam_alpha=1.0), CHARS
    ).ctc_decoder_predictions_tensor(log_probs)

    assert greedy == acoustic == ["followed by the pound kee"]
    assert fused == ["followed by the pound key"]


def test_lm_repairs_a_near_miss_over_sentencepiece_pieces(pound_key_arpa, tokenizer_dir):
    from nemo.collections.common.tokenizers import SentencePieceTokenizer

    tokenizer = SentencePieceTokenizer(str(tokenizer_dir / "tokenizer.model"))
    ids = tokenizer.text_to_ids("followed by the pound kee")
    y = tokenizer.tokens_to_ids(["y"])[0]
    assert tokenizer.ids_to_text([*ids[:-1], y]) == "followed by the pound key"
    log_probs = spell(ids, tokenizer.vocab_size + 1, {len(ids) - 1: (y, 0.35)})[None]

    acoustic = CTCBPEDecoding(beam_cfg(kenlm_path=pound_key_arpa, beam_alpha=0.0), tokenizer)
    fused = CTCBPEDecoding(beam_cfg(kenlm_path=pound_key_arpa), tokenizer)

    assert acoustic.ctc_decoder_predictions_tensor(log_probs)[0] == ["followed by the pound kee"]
    assert fused.ctc_decoder_predictions_tensor(log_probs)[0] == ["followed by the pound key"]


def test_words_outside_the_lm_stay_possible(pound_key_arpa):
    log_probs = spell(char_ids("press the zebra key"), len(CHARS) + 1)[None]
    decoding = CTCDecoding(beam_cfg(kenlm_path=pound_key_arpa), CHARS)
    assert decoding.ctc_decoder_predictions_tensor(log_probs)[0] == ["press the zebra key"]


def test_pruning_options_reach_the_search(pound_key_arpa):
    cfg = beam_cfg(
        kenlm_path=pound_key_arpa,
        pyctcdecode_cfg={"beam_prune_logp": -3.0, "token_min_logp": -2.0, "prune_history": False},
    )
    search = CTCDecoding(cfg, CHARS).decoding
    assert (search.pyctcdecode_cfg.beam_prune_logp, search.pyctcdecode_cfg.token_min_logp) == (-3.0, -2.0)
    assert search.pyctcdecode_cfg.unk_score_offset == -10.0
    with pytest.raises(
        ValueError, match=r"pyctcdecode_cfg has unsupported options \{'hotwords': \['key'\]\}"
    ):
        CTCDecoding(beam_cfg(pyctcdecode_cfg={"hotwords": ["key"]}), CHARS)


def test_pyctcdecode_strategy_and_search_type_run_the_same_search(pound_key_arpa):
    log_probs = spell(char_ids("pound kee"), len(CHARS) + 1, {8: (CHARS.index("y"), 0.35)})[None]
    by_strategy = CTCDecoding({"strategy": "pyctcdecode", "beam": {"kenlm_path": pound_key_arpa}}, CHARS)
    by_search_type = CTCDecoding(beam_cfg(kenlm_path=pound_key_arpa, search_type="pyctcdecode"), CHARS)
    assert by_strategy.decoding.search_type == by_search_type.decoding.search_type == "pyctcdecode"
    assert by_strategy.ctc_decoder_predictions_tensor(log_probs)[0] == ["pound key"]
    assert by_search_type.ctc_decoder_predictions_tensor(log_probs)[0] == ["pound key"]


def pyctcdecode_messages(nemo_log) -> list[logging.LogRecord]:
    return [record for record in nemo_log.records if "pyctcdecode library is not used" in record.getMessage()]


@pytest.mark.parametrize("request_by", ["strategy", "search_type"])
def test_pyctcdecode_logs_once_which_search_runs_and_how_each_key_maps(nemo_log, pound_key_arpa, request_by):
    beam = {
        "beam_size": 8,
        "kenlm_path": pound_key_arpa,
        "beam_alpha": 0.5,
        "beam_beta": 1.5,
        "pyctcdecode_cfg": {"beam_prune_logp": -7.0, "token_min_logp": -4.0, "hotwords": None},
    }
    if request_by == "strategy":
        cfg = {"strategy": "pyctcdecode", "beam": beam}
    else:
        cfg = {"strategy": "beam", "beam": {**beam, "search_type": "pyctcdecode"}}
    decoding = CTCDecoding(cfg, CHARS)
    log_probs = spell(char_ids("pound key"), len(CHARS) + 1)[None]
    for _ in range(2):
        assert decoding.ctc_decoder_predictions_tensor(log_probs)[0] == ["pound key"]

    (record,) = pyctcdecode_messages(nemo_log)
    message = record.getMessage()
    assert record.levelname == "WARNING"
    assert "the built-in CTC prefix beam search" in message and "runs in its place" in message
    for mapping in (
        "beam_size=8 -> prefixes kept per frame (pyctcdecode's beam_width)",
        f"kenlm_path={pound_key_arpa!r} -> an ARPA word n-gram file",
        "beam_alpha=0.5 -> weight of ln P_LM(word | previous words) (pyctcdecode's alpha)",
        "beam_beta=1.5 -> score added per completed word (pyctcdecode's beta)",
        "beam_prune_logp=-7.0 -> prefixes more than 7.0 below the frame's best are dropped",
        "token_min_logp=-4.0 -> per frame, tokens less likely than this are not tried",
        "unk_score_offset=-10.0 -> one-time score of a partial word that begins no LM word",
        "prune_history, hotwords, hotword_weight -> not implemented: accepted only at NeMo's defaults "
        "(prune_history=False, hotwords=None, hotword_weight=10.0); other values are refused",
    ):
        assert mapping in message, mapping


def test_pyctcdecode_without_an_lm_says_the_lm_keys_are_unused(nemo_log):
    CTCDecoding({"strategy": "pyctcdecode", "beam": {"beam_alpha": 2.0}}, CHARS)
    (record,) = pyctcdecode_messages(nemo_log)
    message = record.getMessage()
    assert "kenlm_path=None -> no LM: prefixes are ranked by their acoustic score alone" in message
    assert "beam_alpha=2.0, beam_beta=0.0, pyctcdecode_cfg.beam_prune_logp=-10.0" in message
    assert "-> not used without kenlm_path" in message


def test_other_search_types_log_no_pyctcdecode_message(nemo_log, pound_key_arpa, phone_files):
    CTCDecoding(beam_cfg(kenlm_path=pound_key_arpa), CHARS)
    CTCDecoding(flashlight_cfg(*phone_files), PHONES)
    assert pyctcdecode_messages(nemo_log) == []


def test_lm_file_errors(tmp_path):
    with pytest.raises(
        FileNotFoundError, match=r"decoding\.beam\.kenlm_path='.*missing\.arpa' does not exist"
    ):
        CTCDecoding(beam_cfg(kenlm_path=str(tmp_path / "missing.arpa")), CHARS)
    binary = tmp_path / "lm.bin"
    binary.write_bytes(b"mmap lm http://kheafield.com/code format version 5\n\x00")
    with pytest.raises(ArpaFormatError, match="KenLM binary"):
        CTCDecoding(beam_cfg(kenlm_path=str(binary)), CHARS)


def test_lm_search_needs_the_token_strings(pound_key_arpa):
    search = BeamCTCInfer(blank_id=len(CHARS), beam_size=4, kenlm_path=pound_key_arpa)
    with pytest.raises(RuntimeError, match="set_vocabulary"):
        search(spell(char_ids("key"), len(CHARS) + 1)[None])


def test_beam_names_are_importable_from_ctc_decoding_too():
    for name in ("BeamCTCInfer", "BeamCTCInferConfig"):
        assert getattr(ctc_decoding, name) is getattr(ctc_beam_decoding, name)
    assert ctc_decoding.ctc_prefix_beam_search is ctc_prefix_search.ctc_prefix_beam_search


def test_config_dataclasses_keep_nemo_keys_and_defaults():
    # NeMo 1.23's nemo/collections/asr/parts/submodules/ctc_beam_decoding.py (beam_size has no default there).
    beam = asdict(BeamCTCInferConfig(beam_size=4))
    assert {k: v for k, v in beam.items() if not k.endswith("_cfg")} == {
        "beam_size": 4,
        "search_type": "default",
        "preserve_alignments": False,
        "compute_timestamps": False,
        "return_best_hypothesis": True,
        "beam_alpha": 1.0,
        "beam_beta": 0.0,
        "kenlm_path": None,
    }
    assert asdict(FlashlightConfig()) == {
        "lexicon_path": None,
        "boost_path": None,
        "beam_size_token": 16,
        "beam_threshold": 20.0,
        "unk_weight": float("-inf"),
        "sil_weight": 0.0,
    }
    assert beam["flashlight_cfg"] == asdict(FlashlightConfig())
    # NeMo's prune_history, hotwords and hotword_weight are accepted at their defaults only (see below).
    assert beam["pyctcdecode_cfg"] == asdict(PyCTCDecodeConfig())
    assert {f.name: f.default for f in fields(PyCTCDecodeConfig)} == {
        "beam_prune_logp": -10.0,
        "token_min_logp": -5.0,
        "unk_score_offset": -10.0,
    }
    nemo_defaults = {"prune_history": False, "hotwords": None, "hotword_weight": 10.0}
    search = CTCDecoding(beam_cfg(pyctcdecode_cfg=nemo_defaults), CHARS).decoding
    assert search.pyctcdecode_cfg == PyCTCDecodeConfig()


@pytest.fixture(scope="module")
def asterisk_arpa(tmp_path_factory) -> str:
    from nemo.collections.asr.data.manifest import read_manifest_entries

    path = tmp_path_factory.mktemp("lm") / "asterisk.arpa"
    entries = read_manifest_entries(str(ASTERISK_TRAIN), resolve_audio_paths=False)
    estimate_ngram_lm((entry.text for entry in entries), order=3).write_arpa(path)
    return str(path)


@pytest.mark.parametrize("tokenizer", ["char", "bpe"])
def test_models_transcribe_with_the_lm_loaded_once(
    tiny_asr_config, tokenizer_dir, speech, asterisk_arpa, tokenizer
):
    from nemo.collections.asr.models import EncDecCTCModel, EncDecCTCModelBPE

    torch.manual_seed(0)
    if tokenizer == "char":
        model = EncDecCTCModel(tiny_asr_config("ctc")).eval()
    else:
        model = EncDecCTCModelBPE(tiny_asr_config("ctc", tokenizer=tokenizer_dir)).eval()
    model.change_decoding_strategy(beam_cfg(kenlm_path=asterisk_arpa, beam_alpha=0.5, beam_beta=1.0))
    language_model = model.decoding.decoding.language_model
    assert language_model is not None and model.cfg.decoding.beam.kenlm_path == asterisk_arpa

    texts = model.transcribe(speech.paths[:2], batch_size=2, verbose=False)
    hypotheses = model.transcribe(speech.paths[:2], batch_size=2, return_hypotheses=True, verbose=False)

    assert model.decoding.decoding.language_model is language_model
    assert [h.text for h in hypotheses] == texts and all(isinstance(t, str) for t in texts)
    for hypothesis in hypotheses:
        assert math.isfinite(hypothesis.score)
        assert hypothesis.text == model.decoding.decode_tokens_to_str(hypothesis.y_sequence.tolist())


# ----------------------------------------------------------------------- lexicon search (search_type flashlight)
PHONES = [" ", "ð", "ə", "k", "æ", "ʌ", "t", "w", "n", "u", "ɡ", "o", "m", "i", "θ", "r", "b", "z"]
PHONE_LEXICON = {
    "the": ["ðə"],
    "cat": ["kæt"],
    "one": ["wʌn"],
    "won": ["wʌn"],
    "to": ["tu", "tə"],
    "two": ["tu"],
    "too": ["tu"],
    "go": ["ɡo"],
    "me": ["mi"],
    "three": ["θri"],
    "zebra": ["zibrə"],
}
PHONE_LM_SENTENCES = ["one two three", "go to the cat", "me too", "the cat won", "go to me", "the cat"]


def phone_ids(phones: str) -> list[int]:
    return [PHONES.index(p) for p in phones]


def write_lexicon(path: Path, lexicon: dict[str, list[str]], separator: str = "") -> str:
    lines = ["# word<TAB>tokens"]
    lines += [
        f"{word}\t{' '.join(spelling)}{separator}"
        for word, spellings in lexicon.items()
        for spelling in spellings
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


@pytest.fixture
def phone_files(tmp_path) -> tuple[str, str]:
    """(lexicon path, ARPA path) of the phone tests; "zebra" is in the lexicon but not in the LM."""
    arpa = tmp_path / "phones.arpa"
    estimate_ngram_lm(PHONE_LM_SENTENCES, order=3).write_arpa(arpa)
    return write_lexicon(tmp_path / "phones.lex", PHONE_LEXICON), str(arpa)


def flashlight_cfg(lexicon: str, arpa: str, beam_size: int = 16, **options) -> dict:
    beam = {k: options.pop(k) for k in ("beam_alpha", "beam_beta", "return_best_hypothesis") if k in options}
    return {
        "strategy": "beam",
        "beam": {
            "beam_size": beam_size,
            "search_type": "flashlight",
            "kenlm_path": arpa,
            "flashlight_cfg": {"lexicon_path": lexicon, **options},
            **beam,
        },
    }


def test_lexicon_search_turns_a_non_word_best_path_into_words(phone_files):
    phones = "ðə kʌt"
    log_probs = spell(phone_ids(phones), len(PHONES) + 1, {4: (PHONES.index("æ"), 0.35)})[None]
    greedy, _ = CTCDecoding({"strategy": "greedy"}, PHONES).ctc_decoder_predictions_tensor(log_probs)
    decoding = CTCDecoding(flashlight_cfg(*phone_files), PHONES)

    (hypothesis,), _ = decoding.ctc_decoder_predictions_tensor(log_probs, return_hypotheses=True)

    assert greedy == [phones]
    assert hypothesis.text == "the cat"
    assert decoding.decode_tokens_to_str(hypothesis.y_sequence.tolist()) == "ðə kæt"
    assert decoding.ctc_decoder_predictions_tensor(log_probs)[0] == ["the cat"]


@pytest.mark.parametrize(
    ("phones", "alpha", "expected"),
    [
        ("wʌn tu θri", 1.0, "one two three"),
        ("ɡo tu ðə kæt", 1.0, "go to the cat"),
        ("mi tu", 1.0, "me too"),
        ("ðə kæt wʌn", 1.0, "the cat won"),
        ("mi tu", 0.0, "me to"),  # no LM: homophones tie and the alphabetically first word wins
        ("ðə kæt wʌn", 0.0, "the cat one"),
    ],
)
def test_homophones_are_resolved_by_the_lm_context(phone_files, phones, alpha, expected):
    log_probs = spell(phone_ids(phones), len(PHONES) + 1)[None]
    decoding = CTCDecoding(flashlight_cfg(*phone_files, beam_alpha=alpha), PHONES)
    assert decoding.ctc_decoder_predictions_tensor(log_probs)[0] == [expected]


def spellings_by_word(lexicon: dict[str, list[str]]) -> dict[str, set[str]]:
    return {word: set(spellings) for word, spellings in lexicon.items()}


@pytest.mark.parametrize("seed", range(4))
def test_every_hypothesis_is_lexicon_words_spelled_by_its_tokens(phone_files, seed):
    generator = torch.Generator().manual_seed(seed)
    words = list(PHONE_LEXICON)
    sentence = [words[i] for i in torch.randint(len(words), (4,), generator=generator).tolist()]
    phones = " ".join(PHONE_LEXICON[word][0] for word in sentence)
    clean = spell(phone_ids(phones), len(PHONES) + 1)
    log_probs = (clean + 2.0 * torch.randn(clean.shape, generator=generator)).log_softmax(-1)[None]
    cfg = flashlight_cfg(*phone_files, beam_size=8, unk_weight=-3.0, return_best_hypothesis=False)
    decoding = CTCDecoding(cfg, PHONES)

    (best,), (n_best,) = decoding.ctc_decoder_predictions_tensor(log_probs, return_hypotheses=True)

    spellings = spellings_by_word(PHONE_LEXICON)
    assert best is n_best[0] and any(h.words for h in n_best)
    for hypothesis in n_best:
        segments = decoding.decode_tokens_to_str(hypothesis.y_sequence.tolist()).split()
        assert len(segments) == len(hypothesis.words), hypothesis.text
        for word, segment in zip(hypothesis.words, segments):
            assert segment in spellings[word]
    scores = [h.score for h in n_best]
    assert scores == sorted(scores, reverse=True) and all(math.isfinite(s) for s in scores)


def test_unk_weight_decides_whether_a_word_outside_the_lm_can_appear(phone_files):
    log_probs = spell(phone_ids("ðə zibrə"), len(PHONES) + 1)[None]
    never = CTCDecoding(flashlight_cfg(*phone_files), PHONES).ctc_decoder_predictions_tensor(log_probs)[0]
    allowed = CTCDecoding(
        flashlight_cfg(*phone_files, unk_weight=0.0), PHONES
    ).ctc_decoder_predictions_tensor(log_probs)[0]
    assert "zebra" not in never[0].split() and set(never[0].split()) <= set(PHONE_LEXICON)
    assert allowed == ["the zebra"]


def test_sil_weight_is_added_per_word_separator(phone_files):
    log_probs = spell(phone_ids("ðə kæt"), len(PHONES) + 1)[None]
    scores = {}
    for sil_weight in (0.0, -1.5):
        decoding = CTCDecoding(flashlight_cfg(*phone_files, sil_weight=sil_weight), PHONES)
        (hypothesis,), _ = decoding.ctc_decoder_predictions_tensor(log_probs, return_hypotheses=True)
        assert hypothesis.text == "the cat"
        scores[sil_weight] = hypothesis.score
    assert scores[-1.5] == pytest.approx(scores[0.0] - 1.5)


def test_a_prefix_that_leaves_the_lexicon_everywhere_gives_an_empty_hypothesis(phone_files):
    log_probs = spell(phone_ids("bbb"), len(PHONES) + 1)[None]
    (hypothesis,), _ = CTCDecoding(flashlight_cfg(*phone_files), PHONES).ctc_decoder_predictions_tensor(
        log_probs, return_hypotheses=True
    )
    # Only the empty prefix (every frame blank) spells lexicon words: it is all that survives.
    assert hypothesis.text == "" and len(hypothesis.y_sequence) == 0


def test_an_unfinished_last_word_keeps_the_words_before_it(phone_files):
    # "zibr" is the start of "zebra" but no word: every surviving prefix ends inside the spelling.
    log_probs = spell(phone_ids("ðə kæt zibr"), len(PHONES) + 1)[None]
    decoding = CTCDecoding(flashlight_cfg(*phone_files, unk_weight=0.0), PHONES)
    (hypothesis,), _ = decoding.ctc_decoder_predictions_tensor(log_probs, return_hypotheses=True)
    assert hypothesis.text == "the cat"
    assert math.isfinite(hypothesis.score)


def test_character_lexicon_with_trailing_separators(tmp_path, pound_key_arpa):
    words = sorted({word for sentence in LM_SENTENCES for word in sentence.split()})
    lexicon = write_lexicon(tmp_path / "chars.lex", {word: [word] for word in words}, separator=" |")
    text = "the pound kee"
    log_probs = spell(char_ids(text), len(CHARS) + 1, {len(text) - 1: (CHARS.index("y"), 0.35)})[None]
    targets = torch.tensor([char_ids("the pound key")])

    flashlight = CTCDecoding(flashlight_cfg(lexicon, pound_key_arpa, beam_alpha=0.0), CHARS)
    greedy = CTCDecoding({"strategy": "greedy"}, CHARS)

    assert flashlight.ctc_decoder_predictions_tensor(log_probs)[0] == ["the pound key"]
    for decoding, expected_errors in ((flashlight, 0), (greedy, 1)):
        wer = WER(decoding, log_prediction=False)
        wer.update(log_probs, None, targets, torch.tensor([targets.shape[1]]))
        assert wer.compute()[1] == expected_errors


def test_lexicon_spelled_with_sentencepiece_pieces(tmp_path, pound_key_arpa, tokenizer_dir):
    from nemo.collections.common.tokenizers import SentencePieceTokenizer

    tokenizer = SentencePieceTokenizer(str(tokenizer_dir / "tokenizer.model"))
    words = sorted({word for sentence in LM_SENTENCES for word in sentence.split()})
    pieces = {word: [tokenizer.ids_to_tokens(tokenizer.text_to_ids(word))] for word in words}
    lexicon = write_lexicon(tmp_path / "pieces.lex", {w: [p] for w, (p,) in pieces.items()})
    ids = tokenizer.text_to_ids("followed by the pound kee")
    y = tokenizer.tokens_to_ids(["y"])[0]
    log_probs = spell(ids, tokenizer.vocab_size + 1, {len(ids) - 1: (y, 0.35)})[None]

    decoding = CTCBPEDecoding(flashlight_cfg(lexicon, pound_key_arpa), tokenizer)

    assert decoding.ctc_decoder_predictions_tensor(log_probs)[0] == ["followed by the pound key"]


def test_lexicon_errors_name_the_config_key_and_line(tmp_path, phone_files):
    _, arpa = phone_files
    with pytest.raises(FileNotFoundError, match=r"lexicon file '.*absent\.lex' does not exist"):
        CTCDecoding(flashlight_cfg(str(tmp_path / "absent.lex"), arpa), PHONES)
    lexicon = write_lexicon(tmp_path / "foreign.lex", {"the": ["ðə"], "they": ["ðɛ"]})
    decoding = CTCDecoding(flashlight_cfg(lexicon, arpa), PHONES)
    with pytest.raises(LexiconFormatError, match=r"foreign\.lex:3: the spelling of 'they' uses token 'ɛ'"):
        decoding.ctc_decoder_predictions_tensor(spell(phone_ids("ðə"), len(PHONES) + 1)[None])


def test_phone_model_transcribes_to_lexicon_words(tiny_asr_config, speech, tmp_path):
    from nemo.collections.asr.models import EncDecCTCModel

    # one word per phone, plus the real words: every single phone between separators spells a word
    lexicon = {**PHONE_LEXICON, **{f"p{i}": [phone] for i, phone in enumerate(PHONES[1:])}}
    arpa = tmp_path / "words.arpa"
    estimate_ngram_lm([*PHONE_LM_SENTENCES, " ".join(lexicon)], order=2).write_arpa(arpa)
    lexicon_path = write_lexicon(tmp_path / "words.lex", lexicon)
    cfg = tiny_asr_config("ctc")
    for section in (cfg, cfg.train_ds, cfg.validation_ds):
        section.labels = list(PHONES)
    cfg.decoder.vocabulary = list(PHONES)
    torch.manual_seed(0)
    model = EncDecCTCModel(cfg).eval()
    model.change_decoding_strategy(flashlight_cfg(lexicon_path, str(arpa), beam_size=4, beam_beta=2.0))
    assert model.cfg.decoding.beam.flashlight_cfg.lexicon_path == lexicon_path

    texts = model.transcribe(speech.paths[:2], batch_size=2, verbose=False)
    hypotheses = model.transcribe(speech.paths[:2], batch_size=2, return_hypotheses=True, verbose=False)

    assert [h.text for h in hypotheses] == texts and all(isinstance(t, str) for t in texts)
    assert any(texts) and all(set(text.split()) <= set(lexicon) for text in texts)
    spellings = spellings_by_word(lexicon)
    for hypothesis in hypotheses:
        segments = model.decoding.decode_tokens_to_str(hypothesis.y_sequence.tolist()).split()
        assert len(segments) == len(hypothesis.words), hypothesis.text
        for word, segment in zip(hypothesis.words, segments):
            assert segment in spellings[word]


def test_an_unchanged_lm_file_is_read_once_across_decodings_and_a_rewritten_one_again(tmp_path):
    path = tmp_path / "words.arpa"
    estimate_ngram_lm(LM_SENTENCES, order=3).write_arpa(path)
    first = CTCDecoding(beam_cfg(kenlm_path=str(path)), CHARS).decoding.language_model
    second = CTCDecoding(beam_cfg(kenlm_path=str(path), beam_alpha=0.3), CHARS).decoding.language_model
    assert second is first

    estimate_ngram_lm([*LM_SENTENCES, "press star to cancel"], order=3).write_arpa(path)
    rewritten = CTCDecoding(beam_cfg(kenlm_path=str(path)), CHARS).decoding.language_model
    assert rewritten is not first and rewritten.is_prefix("cancel")
