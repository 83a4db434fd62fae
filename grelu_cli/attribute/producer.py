"""The producer of ``grelu attribute``: windows ``[lo, hi)`` -> one result block per batch.

Batches of windows come from predict's loader (:func:`~grelu_cli.predict.loader.make_loader`,
the run's batch boundaries, :mod:`grelu_cli.run.batches`); each batch is attributed at once
(:func:`~grelu_cli.attribute.methods.attribute_batch`) and turned to genome orientation
(:func:`~grelu_cli.attribute.orient.to_genome`). The blocks are
:class:`~grelu_cli.core.attribution_block.AttributionBlock` (zarr) or, with ``tracks``, their
per-base :class:`~grelu_cli.core.block.Block` view (bigWig and its part files), so that the
engine's plain, dense and chunked paths (:mod:`grelu_cli.run.plain`, :mod:`grelu_cli.run.chunked`)
run attribution as they run predictions: :class:`AttributionProducer` has what they read of a
built run (``blocks``, ``seq_len``, ``predictor.task_names``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import torch

from grelu_cli.attribute.methods import attribute_batch
from grelu_cli.attribute.options import AttributionOptions
from grelu_cli.attribute.orient import to_genome
from grelu_cli.attribute.target import TargetModel

if TYPE_CHECKING:
    from grelu_cli.genome.inputs import PreparedInput


class AttributionProducer:
    """Attribution blocks of a run's windows.

    Args:
        target: the target module, on ``device``.
        opts: the method and its options.
        inp: the prepared input (window plan and sequence reader).
        batch: windows per batch (the run's grain: shards and chunks start on its multiples).
        device: where the batches go.
        targets: the target names (``mean``, or the task names with ``--per-task``).
        tracks: yield the per-base reference-value view (bigWig) instead of the maps.
    """

    def __init__(
        self,
        target: TargetModel,
        opts: AttributionOptions,
        inp: PreparedInput,
        batch: int,
        device: torch.device,
        targets: list[str],
        tracks: bool = False,
    ) -> None:
        self.target, self.opts, self.inp = target, opts, inp
        self.batch, self.device, self.tracks = batch, device, tracks
        self.task_names = list(targets)
        self.seq_len = int(target.layout.seq_len)

    @property
    def predictor(self) -> AttributionProducer:
        """What the engine reads as ``run.predictor`` (``task_names``)."""
        return self

    def blocks(self, lo: int, hi: int) -> Iterator[Any]:
        """One block per batch of windows ``[lo, hi)``, in input order."""
        from grelu_cli.predict.loader import make_loader

        loader = make_loader(self.inp.plan, self.inp.sequences, lo=lo, hi=hi, batch_size=self.batch)
        for x, windows in loader:
            x = x.to(self.device, dtype=torch.float32)
            maps = attribute_batch(self.target, x, self.opts)
            block = to_genome(x.cpu().numpy(), maps.numpy(), windows)
            yield block.track_block() if self.tracks else block
