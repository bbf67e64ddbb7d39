"""Make ``fastpitch_phonemes_2spk_tiny.{nemo,io.pt}`` with real NeMo 1.23 (this script imports NeMo).

A FastPitch built by NeMo from its own ``examples/tts/conf/fastpitch_align_v1.05.yaml`` with the widths cut
down, ``n_speakers: 2``, no ``text_normalizer`` (nemo_text_processing is not needed), and the
``EnglishPhonemesTokenizer`` + ``EnglishG2p`` of that config reading a small ARPAbet dictionary and
heteronym list cut from NeMo's own (``cmudict-0.7b_nv22.10`` and ``heteronyms-052722``: the lines of the
words in TEXTS), so that the archive stays small. Weights are random (seeded); the duration predictor's
output bias is 1.6 so that tokens last a few frames.

Run with NeMo 1.23's Python, from a scratch folder::

    /tmp/nemo-ref/bin/python make_nemo_fastpitch_phonemes_fixture.py NEMO_GIT_DIR OUT_DIR

``NEMO_GIT_DIR`` is a NeMo git repository (bare is fine) holding the tag ``v1.23.0``.

``OUT_DIR/fastpitch_phonemes_2spk_tiny.io.pt`` holds (computed in ``eval()`` under ``torch.inference_mode()``):
``texts``; ``tokens_i`` = ``parse(texts[i])`` (1, T_i); ``tokens`` (B, T) right-padded with ``pad_id``,
``token_lens``; ``speakers`` = [0, 1, 1]; ``spect`` = ``generate_spectrogram(tokens=tokens,
speaker=speakers)``; ``spect_0_speaker1`` = ``generate_spectrogram(tokens=tokens_0, speaker=1)``;
``num_frames``, ``durs_predicted``, ``log_durs_predicted``, ``pitch_predicted`` = items 1-4 of
``model(text=tokens, durs=None, pitch=None, speaker=speakers)``; and the aligner path on random mels:
``mels`` (B, 80, T_spec), ``mel_lens``, ``attn_prior`` (B, T_spec, T), ``pitch`` (B, T_spec) ->
``fwd_spect``, ``fwd_attn_soft``, ``fwd_attn_logprob``, ``fwd_attn_hard``, ``fwd_attn_hard_dur``, ``fwd_pitch``.
"""

import subprocess
import sys
from pathlib import Path

import torch
from omegaconf import OmegaConf, open_dict

NAME = "fastpitch_phonemes_2spk_tiny"
SEED = 2024
TEXTS = [
    "Hello world.",
    "Read the record, then record it!",
    "The quick brown fox jumps over zyxq dogs?",
]
SPEAKERS = [0, 1, 1]


def git_show(nemo_git: str, path: str) -> str:
    return subprocess.run(
        ["git", "-C", nemo_git, "show", f"v1.23.0:{path}"],
        check=True,
        capture_output=True,
        text=True,
        errors="replace",
    ).stdout


def small_dictionaries(nemo_git: str, out_dir: Path) -> tuple[Path, Path]:
    words = {w.strip(".,!?").upper() for text in TEXTS for w in text.split()}
    cmudict = git_show(nemo_git, "scripts/tts_dataset_files/cmudict-0.7b_nv22.10").splitlines()
    kept = [line for line in cmudict if line.split("  ")[0].split("(")[0] in words]
    heteronyms = git_show(nemo_git, "scripts/tts_dataset_files/heteronyms-052722").splitlines()
    kept_heteronyms = [line for line in heteronyms if line.strip().upper() in words]
    dict_path = out_dir / "cmudict_tiny.txt"
    heteronyms_path = out_dir / "heteronyms_tiny.txt"
    dict_path.write_text("\n".join(kept) + "\n", encoding="latin-1")
    heteronyms_path.write_text("\n".join(kept_heteronyms) + "\n", encoding="utf-8")
    return dict_path, heteronyms_path


def build_config(nemo_git: str, dict_path: Path, heteronyms_path: Path):
    full = OmegaConf.create(git_show(nemo_git, "examples/tts/conf/fastpitch_align_v1.05.yaml"))
    full.train_dataset = "dummy_train_manifest.json"
    full.validation_datasets = "dummy_val_manifest.json"
    full.sup_data_path = "dummy_sup_data"
    full.pitch_mean = 212.35873413085938
    full.pitch_std = 68.52806091308594
    full.phoneme_dict_path = str(dict_path)
    full.heteronyms_path = str(heteronyms_path)
    cfg = full.model
    with open_dict(cfg):
        del cfg.text_normalizer
        del cfg.text_normalizer_call_kwargs
        cfg.n_speakers = 2
        cfg.symbols_embedding_dim = 48
        for key in ("input_fft", "output_fft"):
            cfg[key].n_layer = 1
            cfg[key].d_model = 48
            cfg[key].d_head = 24
            cfg[key].n_head = 2
            cfg[key].d_inner = 96
        cfg.input_fft.d_embed = 48
        cfg.alignment_module.n_text_channels = 48
        for key in ("duration_predictor", "pitch_predictor"):
            cfg[key].input_size = 48
            cfg[key].filter_size = 48
        for key in ("train_ds", "validation_ds"):
            cfg[key].defer_setup = True
    resolved = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))
    return resolved


def main(nemo_git: str, out_dir: str) -> None:
    from nemo.collections.tts.models import FastPitchModel

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    dict_path, heteronyms_path = small_dictionaries(nemo_git, out)
    cfg = build_config(nemo_git, dict_path, heteronyms_path)
    torch.manual_seed(SEED)
    model = FastPitchModel(cfg=cfg).eval()
    with torch.no_grad():
        model.fastpitch.duration_predictor.fc.bias.fill_(1.6)
    model.save_to(str(out / f"{NAME}.nemo"))
    model = FastPitchModel.restore_from(str(out / f"{NAME}.nemo")).eval()

    io = {"texts": TEXTS, "pad_id": model.vocab.pad, "vocab_size": len(model.vocab.tokens), "seed": SEED}
    with torch.inference_mode():
        token_rows = [model.parse(text) for text in TEXTS]
        for i, row in enumerate(token_rows):
            io[f"tokens_{i}"] = row
        max_len = max(row.shape[1] for row in token_rows)
        tokens = torch.full((len(TEXTS), max_len), model.vocab.pad, dtype=torch.long)
        for i, row in enumerate(token_rows):
            tokens[i, : row.shape[1]] = row[0]
        token_lens = torch.tensor([row.shape[1] for row in token_rows])
        speakers = torch.tensor(SPEAKERS)
        io.update(tokens=tokens, token_lens=token_lens, speakers=speakers)
        io["spect"] = model.generate_spectrogram(tokens=tokens, speaker=speakers)
        io["spect_0_speaker1"] = model.generate_spectrogram(tokens=token_rows[0], speaker=1)
        outputs = model(text=tokens, durs=None, pitch=None, speaker=speakers, pace=1.0)
        for name, value in zip(
            ("num_frames", "durs_predicted", "log_durs_predicted", "pitch_predicted"), outputs[1:5]
        ):
            io[name] = value

        generator = torch.Generator().manual_seed(SEED)
        mel_lens = torch.tensor([60, 75, 90])
        mels = torch.randn(len(TEXTS), 80, 90, generator=generator) - 4.0
        mels = mels * (torch.arange(90)[None, None, :] < mel_lens[:, None, None])
        prior = torch.rand(len(TEXTS), 90, max_len, generator=generator) + 0.1
        prior = prior / prior.sum(dim=2, keepdim=True)
        pitch = torch.randn(len(TEXTS), 90, generator=generator)
        io.update(mels=mels, mel_lens=mel_lens, attn_prior=prior, pitch=pitch)
        fwd = model(
            text=tokens,
            durs=None,
            pitch=pitch,
            energy=None,
            speaker=speakers,
            pace=1.0,
            spec=mels,
            attn_prior=prior,
            mel_lens=mel_lens,
            input_lens=token_lens,
        )
        for name, index in (
            ("fwd_spect", 0),
            ("fwd_attn_soft", 5),
            ("fwd_attn_logprob", 6),
            ("fwd_attn_hard", 7),
            ("fwd_attn_hard_dur", 8),
            ("fwd_pitch", 9),
        ):
            io[name] = fwd[index]
    torch.save(
        {k: (v.clone() if isinstance(v, torch.Tensor) else v) for k, v in io.items()}, out / f"{NAME}.io.pt"
    )
    print("wrote", out / f"{NAME}.nemo", out / f"{NAME}.io.pt")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
