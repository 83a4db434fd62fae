"""Stream planned alleles through a :class:`~grelu_cli.predict.loop.Predictor` and score them.

Alleles are gathered into chunks whose *distinct* inputs fill one predictor batch: ref and alt
windows travel in the same batches, and an input shared by several alleles (the reference
window of a multi-allelic site, duplicated records, every allele at the same POS) is predicted
once. A chunk may also reuse inputs of the chunk before it, so a site split across a chunk
boundary still costs one reference prediction. Results are handed out per chunk, in input
order, as :class:`AlleleResults`; nothing else accumulates (memory stays flat).

The predictor does the augmentation (``--rc``, ``--shifts``: inputs carry ``flank`` extra
bases per side), activation, ``--untransform``, strand-pair swapping and the ``--bins``
selection, averaging the augmented copies *before* the ref/alt comparison, as gReLU's
``predict_variant_effects`` does. It is built without ``--aggregate``: the bins are reduced
here, after averaging (CLI.md), so profile scores can see them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from grelu_cli.core.window import Window
from grelu_cli.genome.encode import one_hot_batch
from grelu_cli.variants.plan import PlannedAllele, VariantCounts
from grelu_cli.variants.scores import compute_scores
from grelu_cli.variants.windows import SequenceReader

if TYPE_CHECKING:
    import torch

    from grelu_cli.predict.loop import Predictor

#: Batches are padded to an even size of at least this many windows with copies of their
#: first window (outputs dropped): CPU kernels give last-bit differences for odd batch
#: sizes, and a variant's numbers should not depend on its neighbours (as grelu predict).
MIN_BATCH = 8


@dataclass
class AlleleResults:
    """Scores of consecutive scored alleles.

    Attributes:
        alleles: the N alleles, in input order.
        ref_value, alt_value: (N, T) float32, the reduced ref/alt predictions.
        scores: score name -> (N, T) float32.
    """

    alleles: list[PlannedAllele]
    ref_value: np.ndarray
    alt_value: np.ndarray
    scores: dict[str, np.ndarray]


@dataclass
class _Chunk:
    cid: int
    specs: list[Any]  # distinct SeqSpecs predicted in this chunk
    alleles: list[PlannedAllele]
    refs: list[tuple[int, int]]  # (chunk id, slot) of each allele's ref input
    alts: list[tuple[int, int]]


class VariantScorer:
    """Score planned alleles with one predictor.

    Args:
        predictor: built with ``center_bins=--bins`` and no ``aggregate``.
        reader: reads the inputs (its ``flank`` must equal ``predictor.flank``).
        scores: score names (see :mod:`grelu_cli.variants.scores`).
        aggregate: ``--aggregate`` for ``ref_value``/``alt_value`` and value scores.
        pseudocount: ``--pseudocount`` for ``log2fc``.
        counts: ``windows`` (distinct inputs predicted) is added to it.
        batch_windows: distinct inputs per batch (default: the predictor's batch size).
    """

    def __init__(
        self,
        predictor: Predictor,
        reader: SequenceReader,
        scores: Sequence[str],
        *,
        aggregate: str = "mean",
        pseudocount: float = 0.0,
        counts: VariantCounts | None = None,
        batch_windows: int | None = None,
    ) -> None:
        if reader.flank != predictor.flank or reader.seq_len != predictor.seq_len:
            raise ValueError("the sequence reader and the predictor disagree on length/flank")
        if predictor.options.aggregate is not None:
            raise ValueError("build the predictor without aggregate; scores reduce the bins")
        self.predictor = predictor
        self.reader = reader
        self.scores = tuple(scores)
        self.aggregate = aggregate
        self.pseudocount = pseudocount
        self.counts = counts if counts is not None else VariantCounts()
        self.batch_windows = max(2, int(batch_windows or predictor.sizer.size))
        self.cuda = predictor.device.type == "cuda"

    def score(self, planned: Iterable[PlannedAllele]) -> Iterator[AlleleResults]:
        """Yield results chunk by chunk, in input order."""
        pending: deque[_Chunk] = deque()
        previous: tuple[int, np.ndarray] | None = None
        batches = self._batches(self._chunks(planned), pending)
        for values, _ in self.predictor.predict(batches):
            chunk = pending.popleft()
            values = values[: len(chunk.specs)]
            if chunk.alleles:
                yield self._results(chunk, values, previous)
            previous = (chunk.cid, values)

    # -- chunks ----------------------------------------------------------------------------
    def _chunks(self, planned: Iterable[PlannedAllele]) -> Iterator[_Chunk]:
        cid = 0
        prev_keys: dict[tuple, int] = {}
        keys: dict[tuple, int] = {}
        chunk = _Chunk(cid, [], [], [], [])

        def slot(spec: Any) -> tuple[int, int]:
            k = spec.key
            if k in keys:
                return cid, keys[k]
            if k in prev_keys:
                return cid - 1, prev_keys[k]
            keys[k] = len(chunk.specs)
            chunk.specs.append(spec)
            return cid, keys[k]

        for p in planned:
            wanted = {p.ref_input.key, p.alt_input.key}
            new = sum(1 for k in wanted if k not in keys and k not in prev_keys)
            if chunk.specs and len(chunk.specs) + new > self.batch_windows:
                yield chunk
                cid += 1
                prev_keys, keys = keys, {}
                chunk = _Chunk(cid, [], [], [], [])
            chunk.alleles.append(p)
            chunk.refs.append(slot(p.ref_input))
            chunk.alts.append(slot(p.alt_input))
        if chunk.alleles or chunk.specs:
            yield chunk

    def _batches(
        self, chunks: Iterable[_Chunk], pending: deque[_Chunk]
    ) -> Iterator[tuple[torch.Tensor, list[Window]]]:
        for chunk in chunks:
            specs = list(chunk.specs)
            n = len(specs)
            if n > 0 and (n < MIN_BATCH or n % 2):
                specs += [specs[0]] * (max(MIN_BATCH, n + 1) - n)
            self.counts.windows += n
            pending.append(chunk)
            yield self._encode(specs), [self._window(i, s) for i, s in enumerate(specs)]

    def _encode(self, specs: list[Any]) -> torch.Tensor:
        """(n, 4, L + 2 flank): float32 position-major on the CPU (what its channels-last
        convolutions read), uint8 for a GPU (4x less to copy; converted on the device)."""
        import torch

        n, total = len(specs), self.reader.total
        if self.cuda:
            x = torch.empty((n, 4, total), dtype=torch.uint8)
        else:
            x = torch.empty((n, total, 4), dtype=torch.float32).transpose(1, 2)
        if n:
            one_hot_batch([self.reader.read(s) for s in specs], out=x.numpy())
        return x

    def _window(self, i: int, spec: Any) -> Window:
        end = spec.start + self.reader.seq_len
        return Window(i, i, "", spec.chrom, spec.start, end, "+", spec.start, end)

    # -- results ---------------------------------------------------------------------------
    def _results(
        self, chunk: _Chunk, values: np.ndarray, previous: tuple[int, np.ndarray] | None
    ) -> AlleleResults:
        def gather(where: list[tuple[int, int]]) -> np.ndarray:
            out = np.empty((len(where), *values.shape[1:]), dtype=np.float32)
            for i, (cid, s) in enumerate(where):
                if cid == chunk.cid:
                    out[i] = values[s]
                else:
                    assert previous is not None and previous[0] == cid
                    out[i] = previous[1][s]
            return out

        ref_value, alt_value, scores = compute_scores(
            gather(chunk.refs),
            gather(chunk.alts),
            self.scores,
            aggregate=self.aggregate,
            pseudocount=self.pseudocount,
        )
        return AlleleResults(chunk.alleles, ref_value, alt_value, scores)
