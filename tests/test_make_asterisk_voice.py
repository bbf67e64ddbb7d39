"""scripts/make_asterisk_voice.py, the recipe of the bundled voice, at a tiny size: deterministic and resumable."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "make_asterisk_voice.py"
# 8 real and 8 synthetic clips, 4 a batch: 4 steps an epoch; a checkpoint at every epoch's end.
TINY = [
    "--synthetic", "--real-repeats", "1", "--max-clips", "8", "--batch-size", "4", "--width", "32",
    "--inner", "64", "--layers", "1", "--heads", "1", "--checkpoint-every", "1", "--threads", "1",
]  # fmt: skip


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("make_asterisk_voice", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _weights(run_dir: Path, name: str = "fastpitch.nemo") -> dict[str, torch.Tensor]:
    from nemo.collections.tts.models import FastPitchModel

    return FastPitchModel.restore_from(str(run_dir / name), map_location="cpu").state_dict()


def _assert_equal_weights(expected: dict[str, torch.Tensor], actual: dict[str, torch.Tensor]) -> None:
    assert expected.keys() == actual.keys()
    for name, value in actual.items():
        torch.testing.assert_close(expected[name], value, rtol=0, atol=0, msg=name)


def test_manifests_hold_the_training_voices_and_never_the_test_prompts(script, tmp_path):
    args = script.parse_args(["--run-dir", str(tmp_path), "--synthetic"])
    manifests = script.write_manifests(args)
    mixed = [json.loads(line) for line in manifests["mixed"].read_text().splitlines()]
    test_audio = {
        str((ROOT / "data/asterisk" / json.loads(line)["audio_filepath"]).resolve())
        for line in (ROOT / "data/asterisk/test_manifest.json").read_text().splitlines()
    }
    assert not test_audio & {entry["audio_filepath"] for entry in mixed}
    speakers = {entry["speaker"] for entry in mixed}
    assert speakers == {0, 1, 2, 3, 4}
    real = sum(entry["speaker"] == 0 for entry in mixed)
    assert real == 2 * 445  # the 445 training prompts, listed --real-repeats (2) times
    assert all(Path(entry["audio_filepath"]).is_file() for entry in mixed)


def test_attention_dropout_reaches_both_transformers(script, tmp_path):
    manifests = {name: tmp_path / f"{name}.json" for name in ("train", "dev")}
    manifests["train"].write_text("{}\n" * 32)  # build_config counts the clips (2 batches)
    for dropatt, expected in (([], 0.1), (["--dropatt", "0"], 0.0)):
        args = script.parse_args(["--run-dir", str(tmp_path), "--no-synthetic", *dropatt])
        model = script.build_config(args, manifests, 200.0, 30.0).model
        assert model.input_fft.dropatt == model.output_fft.dropatt == expected
        assert model.input_fft.dropout == 0.1  # the other dropouts are left as the config has them


def test_the_same_arguments_give_the_same_weights_and_a_rerun_goes_on(script, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    for run_dir in (first, second):
        assert script.main(["--run-dir", str(run_dir), "--max-steps", "4", *TINY]) == 0
    # The epoch-end checkpoint, beside last.ckpt.
    assert (first / "checkpoints" / "epoch=0-step=4.ckpt").is_file()
    _assert_equal_weights(_weights(first), _weights(second))
    stats = json.loads((first / "pitch_stats.json").read_text())
    assert 100 < stats["pitch_mean"] < 300  # Hz: a female voice and four flite voices

    # Run again with more steps: it starts from last.ckpt (step 4), not from scratch.
    assert script.main(["--run-dir", str(first), "--max-steps", "8", "--keep-checkpoints", *TINY]) == 0
    checkpoint = torch.load(first / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert checkpoint["global_step"] == 8
    assert "random_states" in checkpoint
    assert len(list((first / "logs").iterdir())) == 2  # two runs, one CSV log each

    # --keep-checkpoints kept both epoch ends; --export writes each as a .nemo with that step's weights.
    for stem, run_at_that_step in (("epoch=0-step=4", second), ("epoch=1-step=8", first)):
        assert (
            script.main(["--run-dir", str(first), "--export", str(first / "checkpoints" / f"{stem}.ckpt")])
            == 0
        )
        _assert_equal_weights(_weights(run_at_that_step), _weights(first, f"{stem}.nemo"))
    with pytest.raises(SystemExit, match="does not exist"):
        script.main(
            ["--run-dir", str(first), "--export", str(first / "checkpoints" / "epoch=9-step=40.ckpt")]
        )

    # Two checkpoints: their weight average, each float weight the mean of the two models' (exported above).
    both = [str(first / "checkpoints" / f"{stem}.ckpt") for stem in ("epoch=0-step=4", "epoch=1-step=8")]
    assert script.main(["--run-dir", str(first), "--export", *both]) == 0
    step4, step8 = _weights(first, "epoch=0-step=4.nemo"), _weights(first, "epoch=1-step=8.nemo")
    averaged = _weights(first, "average-epoch=0-step=4-epoch=1-step=8.nemo")
    assert averaged.keys() == step8.keys()
    moved = 0
    for name, value in averaged.items():
        if value.is_floating_point():
            torch.testing.assert_close(value, (step4[name] + step8[name]) / 2, msg=name)
            moved += not torch.equal(step4[name], step8[name])
        else:
            assert torch.equal(value, step8[name]), name
    assert moved > 10  # training changed the weights between the two, so the mean is a third set


def test_averaging_names_the_weight_that_does_not_match(script):
    weights = {"encoder.weight": torch.zeros(2, 3), "steps": torch.tensor(4)}
    wider = {"encoder.weight": torch.zeros(2, 4), "steps": torch.tensor(8)}
    with pytest.raises(ValueError, match=r"'encoder.weight' has the shapes \[\(2, 3\), \(2, 4\)\]"):
        script.average_state_dicts([weights, wider])
    with pytest.raises(ValueError, match="differs from the last in its keys"):
        script.average_state_dicts([{"decoder.weight": torch.zeros(1)}, weights])
    mean = script.average_state_dicts(
        [weights, {"encoder.weight": torch.ones(2, 3), "steps": torch.tensor(8)}]
    )
    assert torch.equal(mean["encoder.weight"], torch.full((2, 3), 0.5))
    assert mean["steps"].item() == 8
