"""NLPDDPStrategy: NeMo 1.23's scripts build it and hand it to a Trainer."""

from __future__ import annotations

import pytest
import pytorch_lightning as pl
from nemo.collections.nlp.parts.nlp_overrides import NLPDDPStrategy
from pytorch_lightning.strategies import DDPStrategy


def test_strategy_is_lightning_ddp_and_takes_nemos_arguments() -> None:
    strategy = NLPDDPStrategy(find_unused_parameters=True, no_ddp_communication_hook=True)
    assert isinstance(strategy, DDPStrategy)
    assert strategy._ddp_kwargs == {"find_unused_parameters": True}
    trainer = pl.Trainer(
        accelerator="cpu", devices=1, strategy=strategy, logger=False, enable_checkpointing=False
    )
    assert trainer.strategy is strategy


@pytest.mark.parametrize("option", [{"sharp": True}, {"nccl_communicator_config_path": "nccl.yaml"}])
def test_megatron_options_are_refused_by_name(option: dict) -> None:
    with pytest.raises(ValueError, match="nccl_communicator_config_path and sharp"):
        NLPDDPStrategy(**option)
