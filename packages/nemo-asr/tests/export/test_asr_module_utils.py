"""``asr_module_utils.change_conv_asr_se_context_window`` (imported by NeMo's test_asr_exportables.py)."""

from __future__ import annotations

import torch
from nemo.collections.asr.models import EncDecCTCModel
from nemo.collections.asr.parts.submodules.jasper import SqueezeExcite
from nemo.collections.asr.parts.utils import asr_module_utils
from omegaconf import open_dict


def test_se_windows_shrink_after_strided_blocks(tiny_asr_config):
    cfg = tiny_asr_config("ctc", encoder="convasr")
    with open_dict(cfg):
        third = dict(cfg.encoder.jasper[1], stride=[2], residual=False)
        cfg.encoder.jasper.append(third)  # strides 2, 1, 2
        for block in cfg.encoder.jasper:
            block.se = True
    torch.manual_seed(0)
    model = EncDecCTCModel(cfg=cfg)
    asr_module_utils.change_conv_asr_se_context_window(model, context_window=24)
    # By hand, NeMo's rule: each strided main-path conv divides the window for its own SE and those after it.
    windows = [m.context_window for m in model.encoder.modules() if isinstance(m, SqueezeExcite)]
    assert windows == [12, 12, 6]
    assert [block.se_context_size for block in model.cfg.encoder.jasper] == [12, 12, 6]

    asr_module_utils.change_conv_asr_se_context_window(model, context_window=-1, update_config=False)
    assert [m.context_window for m in model.encoder.modules() if isinstance(m, SqueezeExcite)] == [-1, -1, -1]
    assert [block.se_context_size for block in model.cfg.encoder.jasper] == [12, 12, 6]


def test_non_convasr_encoder_is_left_alone(tiny_asr_config):
    torch.manual_seed(0)
    model = EncDecCTCModel(cfg=tiny_asr_config("ctc", encoder="conformer"))
    asr_module_utils.change_conv_asr_se_context_window(model, context_window=24)
    assert "se_context_size" not in str(model.cfg.encoder)
