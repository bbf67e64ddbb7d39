"""EncDecRNNTBPEModel with a real sentencepiece tokenizer: training, transcribe(), greedy search, archives."""

import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from nemo.collections.asr.models import EncDecRNNTBPEModel
from nemo.collections.common.tokenizers.sentencepiece_tokenizer import SentencePieceTokenizer
from omegaconf import open_dict


@pytest.fixture(scope="module")
def bpe_rnnt(tiny_asr_config, tokenizer_dir) -> EncDecRNNTBPEModel:
    """A fixed tiny ConvASR-RNNT BPE model (seeded random weights) in eval mode; tests must not change it."""
    torch.manual_seed(2)
    return EncDecRNNTBPEModel(tiny_asr_config("rnnt", encoder="convasr", tokenizer=tokenizer_dir)).eval()


def test_training_steps_run_and_loss_decreases_on_one_batch(
    tiny_asr_config, cpu_trainer, speech, tokenizer_dir, loss_recorder
):
    torch.manual_seed(0)
    trainer = cpu_trainer(max_steps=8, overfit_batches=1, callbacks=[loss_recorder])
    config = tiny_asr_config("rnnt", manifest=speech.manifest, tokenizer=tokenizer_dir, lr=0.02)
    model = EncDecRNNTBPEModel(config, trainer=trainer)

    trainer.fit(model)

    losses = loss_recorder.losses
    assert len(losses) == 8 and all(np.isfinite(losses))
    assert losses[-1] < 0.8 * losses[0]
    assert losses[-1] < min(losses[:4])


def test_output_layer_matches_the_tokenizer(bpe_rnnt, tokenizer_dir):
    tokenizer = SentencePieceTokenizer(str(tokenizer_dir / "tokenizer.model"))

    assert bpe_rnnt.decoder.blank_idx == tokenizer.vocab_size
    assert bpe_rnnt.joint.num_classes_with_blank == tokenizer.vocab_size + 1
    assert list(bpe_rnnt.cfg.joint.vocabulary) == tokenizer.ids_to_tokens(list(range(tokenizer.vocab_size)))


def test_transcribe_equals_step_by_step_search_decoded_by_the_tokenizer(
    bpe_rnnt, speech, tokenizer_dir, step_by_step_greedy
):
    tokenizer = SentencePieceTokenizer(str(tokenizer_dir / "tokenizer.model"))
    max_symbols = bpe_rnnt.cfg.decoding.greedy.max_symbols
    expected = []
    with torch.no_grad():
        for path in speech.paths:
            signal = torch.from_numpy(sf.read(path, dtype="float32")[0])[None]
            encoded, encoded_len = bpe_rnnt(
                input_signal=signal, input_signal_length=torch.tensor([signal.shape[1]])
            )
            expected.append(
                tokenizer.ids_to_text(
                    step_by_step_greedy(bpe_rnnt, encoded[0], int(encoded_len[0]), max_symbols)
                )
            )
    assert any(expected), "the fixed model emits nothing: the comparison would prove little"

    best, all_hypotheses = bpe_rnnt.transcribe(speech.paths, batch_size=1, verbose=False)

    assert best == expected
    assert len(all_hypotheses) == len(speech.paths)


def test_save_to_restore_from_keeps_tokenizer_and_transcripts(bpe_rnnt, speech, tmp_path):
    archive = tmp_path / "rnnt_bpe.nemo"
    bpe_rnnt.save_to(str(archive))

    restored = EncDecRNNTBPEModel.restore_from(str(archive), map_location="cpu")

    assert re.fullmatch(r"[0-9a-f]{32}_tokenizer\.model", Path(restored.cfg.tokenizer.model_path).name)
    assert restored.tokenizer.vocab_size == bpe_rnnt.tokenizer.vocab_size
    assert (
        restored.transcribe(speech.paths, verbose=False)[0]
        == bpe_rnnt.transcribe(speech.paths, verbose=False)[0]
    )


def test_config_without_tokenizer_section_is_refused(tiny_asr_config, tokenizer_dir):
    config = tiny_asr_config("rnnt", tokenizer=tokenizer_dir)
    with open_dict(config):
        del config["tokenizer"]

    with pytest.raises(ValueError, match="tokenizer"):
        EncDecRNNTBPEModel(config)


def test_beam_strategy_texts_are_the_tokenizer_decoding_of_the_hypotheses(
    tiny_asr_config, tokenizer_dir, speech
):
    torch.manual_seed(2)
    model = EncDecRNNTBPEModel(tiny_asr_config("rnnt", encoder="convasr", tokenizer=tokenizer_dir)).eval()
    tokenizer = SentencePieceTokenizer(str(tokenizer_dir / "tokenizer.model"))
    model.change_decoding_strategy(
        {
            "strategy": "beam",
            "beam": {"beam_size": 3, "search_type": "default", "return_best_hypothesis": False},
        }
    )

    texts, _ = model.transcribe(speech.paths, batch_size=2, verbose=False)
    hypotheses, _ = model.transcribe(speech.paths, batch_size=2, return_hypotheses=True, verbose=False)

    assert any(hypothesis.y_sequence.numel() for hypothesis in hypotheses)
    assert texts == [tokenizer.ids_to_text(hypothesis.y_sequence.tolist()) for hypothesis in hypotheses]
