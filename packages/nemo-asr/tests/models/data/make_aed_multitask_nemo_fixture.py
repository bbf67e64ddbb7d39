"""Write the EncDecMultiTaskModel (Canary-style AED) fixture by running real NeMo 1.23 (run with NeMo's interpreter).

Usage, from any folder::

    /path/to/nemo-1.23/bin/python make_aed_multitask_nemo_fixture.py [OUTDIR]    # OUTDIR defaults to this folder

It writes:

- ``aed_multitask_tiny.nemo``: NeMo's ``EncDecMultiTaskModel`` built from :func:`config` (one-layer Conformer with
  dw_striding x8, 32-feature mels, projection 32 -> 24, a one-layer pre-LN transformer encoder and decoder, tied
  TokenClassifier head, canary prompt format) with ``torch.manual_seed(0)`` weights, saved with ``save_to``. Its
  aggregate tokenizer has two small sentencepiece models trained here with the identity normaliser (to keep the
  archive small): ``spl_tokens`` (Canary's special tokens, each one piece) and ``en`` (BPE, 40 pieces, on the
  Asterisk training transcripts of the repository's ``data/asterisk``).
- ``aed_multitask_tiny.expected.pt`` (``torch.save`` of plain tensors, lists and strings): ``waveform`` (a seeded
  1.5 s tone-and-noise signal) and what NeMo computed on it in eval mode: ``encoder_states`` (1, T, 24),
  ``encoder_mask``, ``encoded_len``; ``tokens`` (a canary prompt + "please hold" + eos) and the teacher-forced
  ``log_probs`` (1, U-1, V) of ``tokens[:, :-1]``; ``greedy_tokens``: greedy search from the 5-token prompt, one
  token at a time by re-running NeMo's full ``transf_decoder`` + ``log_softmax`` on the whole sequence (no caching),
  for at most ``GREEDY_STEPS`` tokens or until eos; ``nemo_beam_tokens``: NeMo 1.23's own
  ``decoding.decode_predictions_tensor`` result (beam_size 1 and 3, len_pen 0) for the record; ``prompt_ids`` and
  ``special_ids`` (the CanaryTokenizer's ids); ``state_dict_keys``.
"""

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import sentencepiece as spm
import torch
from omegaconf import OmegaConf

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[4]
GREEDY_STEPS = 12
SPECIAL = [
    "<pad>",
    "<|endoftext|>",
    "<|startoftranscript|>",
    "<|en|>",
    "<|de|>",
    "<|es|>",
    "<|fr|>",
    "<|transcribe|>",
    "<|translate|>",
    "<|nopnc|>",
    "<|pnc|>",
    "<|nospeech|>",
] + [f"<|spltoken{i}|>" for i in range(18)]


def train_tokenizer(folder: Path, text_file: Path, vocab_size: int, model_type: str, symbols=()) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    spm.SentencePieceTrainer.train(
        input=str(text_file),
        model_prefix=str(folder / "tokenizer"),
        vocab_size=vocab_size,
        model_type=model_type,
        character_coverage=1.0,
        hard_vocab_limit=False,
        normalization_rule_name="identity",
        bos_id=-1,
        eos_id=-1,
        pad_id=-1,
        user_defined_symbols=list(symbols),
    )
    pieces = [line.split("\t")[0] for line in (folder / "tokenizer.vocab").read_text().splitlines()]
    (folder / "vocab.txt").write_text("".join(p.lstrip("\u2581") + "\n" for p in pieces[1:]))


def config(spl_dir: Path, en_dir: Path) -> dict:
    return {
        "sample_rate": 16000,
        "label_smoothing": 0.0,
        "context_len_for_AR_decoding": 5,
        "log_prediction": False,
        "prompt_format": "canary",
        "model_defaults": {"asr_enc_hidden": 32, "lm_enc_hidden": 24, "lm_dec_hidden": 24},
        "tokenizer": {
            "dir": None,
            "type": "agg",
            "langs": {
                "spl_tokens": {"dir": str(spl_dir), "type": "bpe"},
                "en": {"dir": str(en_dir), "type": "bpe"},
            },
            "custom_tokenizer": {
                "_target_": "nemo.collections.common.tokenizers.canary_tokenizer.CanaryTokenizer",
                "tokenizers": None,
            },
        },
        "preprocessor": {
            "_target_": "nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor",
            "sample_rate": 16000,
            "normalize": "per_feature",
            "window_size": 0.025,
            "window_stride": 0.01,
            "window": "hann",
            "features": 32,
            "n_fft": 512,
            "log": True,
            "frame_splicing": 1,
            "dither": 0.0,
            "pad_to": 0,
            "pad_value": 0.0,
        },
        "spec_augment": None,
        "encoder": {
            "_target_": "nemo.collections.asr.modules.ConformerEncoder",
            "feat_in": 32,
            "feat_out": -1,
            "n_layers": 1,
            "d_model": 32,
            "subsampling": "dw_striding",
            "subsampling_factor": 8,
            "subsampling_conv_channels": 16,
            "causal_downsampling": False,
            "ff_expansion_factor": 2,
            "self_attention_model": "rel_pos",
            "n_heads": 2,
            "att_context_size": [-1, -1],
            "xscaling": False,
            "untie_biases": True,
            "pos_emb_max_len": 5000,
            "conv_kernel_size": 9,
            "conv_norm_type": "batch_norm",
            "dropout": 0.0,
            "dropout_pre_encoder": 0.0,
            "dropout_emb": 0.0,
            "dropout_att": 0.0,
        },
        "transf_encoder": {
            "_target_": "nemo.collections.asr.modules.transformer.transformer_encoders.TransformerEncoder",
            "num_layers": 1,
            "hidden_size": 24,
            "inner_size": 48,
            "num_attention_heads": 2,
            "ffn_dropout": 0.0,
            "attn_score_dropout": 0.0,
            "attn_layer_dropout": 0.0,
            "mask_future": False,
            "pre_ln": True,
            "pre_ln_final_layer_norm": True,
        },
        "transf_decoder": {
            "_target_": "nemo.collections.asr.modules.transformer.get_nemo_transformer",
            "model_name": None,
            "pretrained": False,
            "encoder": None,
            "pre_ln_final_layer_norm": True,
            "config_dict": {
                "max_sequence_length": 64,
                "num_token_types": 0,
                "embedding_dropout": 0.0,
                "learn_positional_encodings": False,
                "hidden_size": 24,
                "inner_size": 48,
                "num_layers": 1,
                "num_attention_heads": 2,
                "ffn_dropout": 0.0,
                "attn_score_dropout": 0.0,
                "attn_layer_dropout": 0.0,
                "hidden_act": "relu",
                "pre_ln": True,
                "vocab_size": None,
            },
        },
        "head": {
            "_target_": "nemo.collections.asr.parts.submodules.token_classifier.TokenClassifier",
            "num_layers": 1,
            "activation": "relu",
            "log_softmax": True,
            "hidden_size": 24,
            "num_classes": None,
            "dropout": 0.0,
            "use_transformer_init": True,
        },
        "decoding": {
            "strategy": "beam",
            "return_best_hypothesis": True,
            "beam": {"beam_size": 1, "len_pen": 0.0, "max_generation_delta": 8},
        },
        "loss": {
            "_target_": "nemo.collections.common.losses.smoothed_cross_entropy.SmoothedCrossEntropyLoss",
            "label_smoothing": 0.0,
            "pad_id": None,
        },
    }


def main(out_dir: Path) -> None:
    from nemo.collections.asr.models import EncDecMultiTaskModel

    work = Path(tempfile.mkdtemp())
    special_text = work / "special.txt"
    special_text.write_text("\n".join(SPECIAL) + "\n")
    train_tokenizer(work / "spl", special_text, 32, "unigram", SPECIAL)
    transcripts = [
        json.loads(line)["text"]
        for line in (REPO / "data" / "asterisk" / "train_manifest.json").read_text().splitlines()
        if line.strip()
    ]
    english_text = work / "en.txt"
    english_text.write_text("\n".join(transcripts) + "\n")
    train_tokenizer(work / "en", english_text, 40, "bpe")

    torch.manual_seed(0)
    model = EncDecMultiTaskModel(cfg=OmegaConf.create(config(work / "spl", work / "en")))
    model.eval()
    model.save_to(str(out_dir / "aed_multitask_tiny.nemo"))

    tokenizer = model.tokenizer
    generator = torch.Generator().manual_seed(1)
    t = torch.arange(24000) / 16000
    waveform = (0.3 * torch.sin(2 * np.pi * 220 * t) + 0.05 * torch.randn(24000, generator=generator)).float()
    prompt = [
        tokenizer.bos_id,
        tokenizer.to_language_id("en"),
        tokenizer.transcribe_id,
        tokenizer.to_language_id("en"),
        tokenizer.pnc_id,
    ]
    tokens = torch.tensor([prompt + tokenizer.text_to_ids("please hold", "en") + [tokenizer.eos_id]])
    with torch.no_grad():
        log_probs, encoded_len, states, mask = model(
            input_signal=waveform[None],
            input_signal_length=torch.tensor([24000]),
            transcript=tokens[:, :-1],
            transcript_length=torch.tensor([tokens.shape[1] - 1]),
        )
        sequence = torch.tensor([prompt])
        for _ in range(GREEDY_STEPS):
            hidden = model.transf_decoder(
                input_ids=sequence,
                decoder_mask=torch.ones_like(sequence),
                encoder_embeddings=states,
                encoder_mask=mask,
            )
            next_token = model.log_softmax(hidden_states=hidden)[:, -1].argmax(-1, keepdim=True)
            sequence = torch.cat([sequence, next_token], dim=1)
            if int(next_token) == tokenizer.eos_id:
                break
        nemo_beam = {}
        for beam_size in (1, 3):
            model.change_decoding_strategy(
                OmegaConf.create(
                    {
                        "strategy": "beam",
                        "beam": {"beam_size": beam_size, "length_penalty": 0.0, "max_generation_delta": 8},
                    }
                )
            )
            hyps, _ = model.decoding.decode_predictions_tensor(
                states, mask, torch.tensor([prompt]), return_hypotheses=True
            )
            nemo_beam[beam_size] = hyps[0].y_sequence.tolist()

    def plain(tensor: torch.Tensor) -> torch.Tensor:
        """A copy without the ``neural_type`` attribute NeMo's typecheck attaches (so weights_only loads work)."""
        return torch.from_numpy(tensor.detach().numpy().copy())

    states, mask, encoded_len, log_probs = plain(states), plain(mask), plain(encoded_len), plain(log_probs)
    torch.save(
        {
            "waveform": waveform,
            "encoder_states": states,
            "encoder_mask": mask,
            "encoded_len": encoded_len,
            "tokens": tokens,
            "log_probs": log_probs,
            "greedy_tokens": sequence[0].tolist(),
            "nemo_beam_tokens": nemo_beam,
            "prompt_ids": prompt,
            "special_ids": dict(tokenizer.special_tokens),
            "vocab_size": tokenizer.vocab_size,
            "state_dict_keys": list(model.state_dict().keys()),
        },
        out_dir / "aed_multitask_tiny.expected.pt",
    )
    print(sequence[0].tolist(), nemo_beam)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
