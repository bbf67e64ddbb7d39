"""A third-party plugin that registers one of nemo-asr's model names: ours is kept, the rest of both works."""

import json

from nemo.core.plugins.testing import plugin_source, run_python, write_distribution
from nemo.core.plugins.types import ModelSpec

_QUERY = """
import json
from nemo.core import registry
print(json.dumps({
    "ctc": registry.get_model_class("asr.EncDecCTCModel").__module__,
    "provider": registry.get_model_provider("asr.EncDecCTCModel").distribution,
    "theirs": registry.get_model_class("thirdparty.Other").__name__,
    "models": [spec.name for spec in registry.list_models()],
}))
"""


def test_ours_wins_a_model_name_a_third_party_plugin_also_registers(tmp_path):
    source = plugin_source(
        models=[
            ModelSpec("asr.EncDecCTCModel", "thirdparty_models:Imposter", "asr"),
            ModelSpec("thirdparty.Other", "thirdparty_models:Other", "thirdparty"),
        ]
    )
    write_distribution(
        tmp_path,
        "nemo-thirdparty",
        "0.3",
        plugins={"thirdparty": "thirdparty_plugin"},
        files={
            "thirdparty_plugin.py": source,
            "thirdparty_models.py": "class Imposter:\n    pass\n\n\nclass Other:\n    pass\n",
        },
    )

    result = run_python(["-c", _QUERY], paths=[tmp_path], OMP_NUM_THREADS="1")

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["ctc"].startswith("nemo.collections.asr.")
    assert report["provider"] == "nemo-kit-asr"
    assert report["theirs"] == "Other"
    assert report["models"].count("asr.EncDecCTCModel") == 1 and "asr.EncDecRNNTModel" in report["models"]
    assert "'asr.EncDecCTCModel' is registered by nemo-kit-asr" in result.stderr  # the warning names both
    assert "nemo-thirdparty 0.3" in result.stderr

    models = run_python(["-m", "nemo.core.cli.main", "models", "--domain", "asr"], paths=[tmp_path])
    assert models.returncode == 0, models.stderr
    assert "asr.EncDecCTCModelBPE" in models.stdout
