"""Lightning overrides NeMo 1.23's NLP scripts import: ``NLPDDPStrategy``.

NeMo's ``NLPDDPStrategy`` sets up Megatron model parallelism (and needs apex); the models of this package train
with plain data parallelism, so here it is Lightning's ``DDPStrategy`` under NeMo's name and constructor, so that
``examples/nlp/.../*.py`` run unchanged. The Megatron-only options are refused by name unless left at their
defaults.
"""

from __future__ import annotations

from typing import Any

from pytorch_lightning.strategies import DDPStrategy

__all__ = ["NLPDDPStrategy"]


class NLPDDPStrategy(DDPStrategy):
    """Data-parallel training (Lightning's DDP) with NeMo 1.23's constructor.

    Args:
        parallel_devices, cluster_environment, checkpoint_io: as Lightning's ``DDPStrategy``.
        no_ddp_communication_hook: True (NeMo's choice for Megatron models) registers no gradient communication
            hook, which is also DDPStrategy's default; False is accepted for the same reason.
        nccl_communicator_config_path: Megatron's NCCL communicator tuning; only None is supported.
        sharp: Megatron's SHARP collectives; only False is supported.
        **kwargs: passed to ``DDPStrategy`` (e.g. ``find_unused_parameters=True``).

    Raises:
        ValueError: a Megatron-only option is set.
    """

    def __init__(
        self,
        parallel_devices: list[Any] | None = None,
        cluster_environment: Any = None,
        checkpoint_io: Any = None,
        no_ddp_communication_hook: bool = False,
        nccl_communicator_config_path: str | None = None,
        sharp: bool = False,
        **kwargs: Any,
    ) -> None:
        if nccl_communicator_config_path is not None or sharp:
            raise ValueError(
                "NLPDDPStrategy: nccl_communicator_config_path and sharp tune Megatron's model-parallel "
                "communication, which this package does not use; leave them at None / False."
            )
        super().__init__(
            parallel_devices=parallel_devices,
            cluster_environment=cluster_environment,
            checkpoint_io=checkpoint_io,
            **kwargs,
        )
        self.no_ddp_communication_hook = no_ddp_communication_hook
