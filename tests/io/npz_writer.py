"""A tiny format for the writer-registry test: every block's values stacked into one .npz.

Shows what a format module needs (``make_writer``, ``output_paths``); not shipped. The same
module writes the ``variants`` result kind (:class:`NpzVariantWriter`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from grelu_cli.core.block import Block
from grelu_cli.io.formats.registry import WriterSpec
from grelu_cli.io.fs.atomic import AllOrNothing, AtomicOutputs


class NpzWriter(AllOrNothing):
    def __init__(self, spec: WriterSpec) -> None:
        self.paths = [Path(spec.output)]
        self.tasks = list(spec.tasks)
        self.values: list[np.ndarray] = []
        self.starts: list[int] = []
        self._outputs = AtomicOutputs(self.paths, overwrite=spec.overwrite)

    def open(self) -> None:
        self._outputs.open()

    def write(self, block: Block) -> None:
        self.values.append(block.values)
        self.starts += [w.window_start for w in block.windows]

    def finish(self) -> None:
        with open(self._outputs.temp(self.paths[0]), "wb") as handle:
            np.savez(
                handle,
                values=np.concatenate(self.values),
                window_start=np.array(self.starts),
                tasks=np.array(self.tasks),
            )
        self._outputs.finish()

    def abort(self) -> None:
        self.values.clear()
        self._outputs.abort()


def output_paths(output: str, tasks: Sequence[str]) -> list[Path]:
    return [Path(output)]


class NpzVariantWriter(AllOrNothing):
    """Result kind ``variants``: each value (``ref_value``, ``alt_value``, scores) stacked
    into one (N, T) array, with the ``pos`` column."""

    def __init__(self, spec: WriterSpec) -> None:
        self.path = Path(spec.output)
        self.paths = [self.path]
        self.names = list(spec.values)
        self.metadata: dict = dict(spec.metadata)
        self.blocks: list = []
        self._outputs = AtomicOutputs(self.paths, overwrite=spec.overwrite)

    def open(self) -> None:
        self._outputs.open()

    def write(self, block) -> None:
        self.blocks.append(block)

    def finish(self) -> None:
        arrays = {v: np.concatenate([b.values[v] for b in self.blocks]) for v in self.names}
        arrays["pos"] = np.concatenate([b.columns["pos"] for b in self.blocks])
        with open(self._outputs.temp(self.path), "wb") as handle:
            np.savez(handle, **arrays)
        self._outputs.finish()

    def abort(self) -> None:
        self.blocks.clear()
        self._outputs.abort()


def make_writer(spec: WriterSpec) -> NpzWriter | NpzVariantWriter:
    """One module serves both result kinds (``spec.kind``)."""
    return NpzVariantWriter(spec) if spec.kind == "variants" else NpzWriter(spec)
