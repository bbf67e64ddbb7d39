"""``nemo transcribe`` on a classification archive prints one label per file (``nemo.core.cli.main.main``, what the
installed console script runs; the script's own launch is tested in ``tests/test_cli.py``)."""

import json
from pathlib import Path

import soundfile as sf
from nemo.collections.asr.models import EncDecClassificationModel
from nemo.core.cli.main import main

FIXTURE = Path(__file__).resolve().parent / "data" / "matchboxnet_3x1x64_v1_tiny.nemo"
V1_WORDS = (
    "bed bird cat dog down eight five four go happy house left marvin nine no off on one right seven sheila six "
    "stop three tree two up wow yes zero"
).split()


def test_transcribe_prints_one_label_per_file(fixture_io, spoken_words, tmp_path, capsys):
    paths = []
    for index, signal in enumerate(fixture_io["input_signal"]):
        paths.append(str(tmp_path / f"input_{index}.wav"))
        sf.write(paths[-1], signal.numpy(), 16000, subtype="FLOAT")
    expected = [V1_WORDS[index] for index in fixture_io["logits"].argmax(dim=-1).tolist()]
    # A real spoken word too; its label is what the same archive gives in this process.
    paths.append(spoken_words.paths[0])
    model = EncDecClassificationModel.restore_from(str(FIXTURE), map_location="cpu")
    expected += model.transcribe(spoken_words.paths[:1])

    capsys.readouterr()
    # In this process: the same `main` the console script calls (its launch is tested in tests/test_cli.py).
    status = main(["transcribe", str(FIXTURE), *paths, "--batch-size", "3"])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert captured.out.splitlines() == [f"{path}\t{label}" for path, label in zip(paths, expected)]


def test_transcribe_json_gives_pred_label(spoken_words, capsys):
    expected = EncDecClassificationModel.restore_from(str(FIXTURE), map_location="cpu").transcribe(
        spoken_words.paths
    )
    assert main(["transcribe", str(FIXTURE), *spoken_words.paths, "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines == [
        {"audio_filepath": path, "pred_label": label} for path, label in zip(spoken_words.paths, expected)
    ]
