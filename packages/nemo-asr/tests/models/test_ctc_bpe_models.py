"""EncDecCTCModelBPE with a real sentencepiece tokenizer: training, tokenizer artifacts in the .nemo."""

import re
import shutil
import tarfile

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml
from nemo.collections.asr.models import EncDecCTCModelBPE
from nemo.collections.common.tokenizers.sentencepiece_tokenizer import SentencePieceTokenizer
from omegaconf import open_dict

ARTIFACT = re.compile(r"^[0-9a-f]{32}_(tokenizer\.model|tokenizer\.vocab|vocab\.txt)$")


def _archive_members(path) -> dict[str, bytes]:
    with tarfile.open(path) as archive:
        return {
            member.name.removeprefix("./"): archive.extractfile(member).read()
            for member in archive.getmembers()
            if member.isfile()
        }


def _log_probs(model: EncDecCTCModelBPE, paths: list[str]) -> list[torch.Tensor]:
    model.eval()
    outputs = []
    with torch.no_grad():
        for path in paths:
            signal = torch.from_numpy(sf.read(path, dtype="float32")[0])[None]
            log_probs, encoded_len, _ = model(
                input_signal=signal, input_signal_length=torch.tensor([signal.shape[1]])
            )
            outputs.append(log_probs[0, : encoded_len[0]])
    return outputs


@pytest.fixture
def own_tokenizer_dir(tokenizer_dir, tmp_path):
    """A private copy of the session tokenizer, which the test may delete."""
    return shutil.copytree(tokenizer_dir, tmp_path / "tokenizer")


def test_trains_and_validates_with_the_tokenizer_vocabulary(
    tiny_asr_config, cpu_trainer, speech, tokenizer_dir, loss_recorder
):
    torch.manual_seed(0)
    trainer = cpu_trainer(max_steps=3, callbacks=[loss_recorder])
    config = tiny_asr_config(
        "ctc", manifest=speech.manifest, val_manifest=speech.manifest, tokenizer=tokenizer_dir
    )
    model = EncDecCTCModelBPE(config, trainer=trainer)
    tokenizer = SentencePieceTokenizer(str(tokenizer_dir / "tokenizer.model"))

    trainer.fit(model)

    assert model.decoder.num_classes_with_blank == tokenizer.vocab_size + 1
    assert list(model.decoder.vocabulary) == tokenizer.ids_to_tokens(list(range(tokenizer.vocab_size)))
    assert len(loss_recorder.losses) == 3 and all(np.isfinite(loss_recorder.losses))
    assert torch.isfinite(trainer.callback_metrics["val_loss"])
    assert "val_wer" in trainer.callback_metrics
    texts = model.transcribe(speech.paths, verbose=False)
    assert len(texts) == len(speech.paths) and all(isinstance(text, str) for text in texts)


def test_archive_carries_the_tokenizer_and_restores_without_the_original_folder(
    tiny_asr_config, speech, own_tokenizer_dir, tmp_path
):
    torch.manual_seed(0)
    model = EncDecCTCModelBPE(tiny_asr_config("ctc", tokenizer=own_tokenizer_dir))
    original_files = {
        name: (own_tokenizer_dir / name).read_bytes() for name in ("tokenizer.model", "vocab.txt")
    }
    expected = _log_probs(model, speech.paths[:3])
    expected_text = model.transcribe(speech.paths[:3], verbose=False)
    archive = tmp_path / "bpe.nemo"
    model.save_to(str(archive))

    members = _archive_members(archive)
    artifacts = sorted(name for name in members if ARTIFACT.match(name))
    assert {name.split("_", 1)[1] for name in artifacts} == {
        "tokenizer.model",
        "tokenizer.vocab",
        "vocab.txt",
    }
    for name in artifacts:
        basename = name.split("_", 1)[1]
        if basename in original_files:
            assert members[name] == original_files[basename]
    config = yaml.safe_load(members["model_config.yaml"])
    assert (
        config["tokenizer"]["model_path"]
        == f"nemo:{next(a for a in artifacts if a.endswith('_tokenizer.model'))}"
    )
    assert config["tokenizer"]["vocab_path"].startswith("nemo:")
    assert config["tokenizer"]["spe_tokenizer_vocab"].startswith("nemo:")

    shutil.rmtree(own_tokenizer_dir)
    restored = EncDecCTCModelBPE.restore_from(str(archive), map_location="cpu")

    for got, want in zip(_log_probs(restored, speech.paths[:3]), expected):
        assert torch.equal(got, want)
    assert restored.transcribe(speech.paths[:3], verbose=False) == expected_text
    assert restored.tokenizer.vocab_size == model.tokenizer.vocab_size

    again = tmp_path / "bpe_again.nemo"
    restored.save_to(str(again))
    members_again = _archive_members(again)
    assert sorted(name for name in members_again if ARTIFACT.match(name)) == artifacts
    assert all(members_again[name] == members[name] for name in artifacts)
    twice = EncDecCTCModelBPE.restore_from(str(again), map_location="cpu")
    for got, want in zip(_log_probs(twice, speech.paths[:3]), expected):
        assert torch.equal(got, want)


def test_change_vocabulary_swaps_in_another_tokenizer(tiny_asr_config, speech, tokenizer_dir, tmp_path):
    from nemo.collections.common.tokenizers.sentencepiece_tokenizer import create_spt_model

    texts = tmp_path / "texts.txt"
    texts.write_text("".join(text + "\n" for text in speech.texts), encoding="utf-8")
    new_model_path, _ = create_spt_model(
        str(texts),
        vocab_size=24,
        sample_size=-1,
        do_lower_case=True,
        tokenizer_type="bpe",
        output_dir=str(tmp_path / "small"),
    )
    new_tokenizer = SentencePieceTokenizer(new_model_path)
    model = EncDecCTCModelBPE(tiny_asr_config("ctc", tokenizer=tokenizer_dir))
    assert new_tokenizer.vocab_size != model.tokenizer.vocab_size

    model.change_vocabulary(str(tmp_path / "small"), "bpe")

    assert model.tokenizer.vocab_size == new_tokenizer.vocab_size
    assert model.decoder.num_classes_with_blank == new_tokenizer.vocab_size + 1
    assert _log_probs(model, speech.paths[:1])[0].shape[-1] == new_tokenizer.vocab_size + 1


def test_config_without_tokenizer_section_is_refused(tiny_asr_config, tokenizer_dir):
    config = tiny_asr_config("ctc", tokenizer=tokenizer_dir)
    with open_dict(config):
        del config["tokenizer"]

    with pytest.raises(ValueError, match="tokenizer"):
        EncDecCTCModelBPE(config)
