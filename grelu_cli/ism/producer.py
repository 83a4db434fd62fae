"""``grelu ism``'s producer: one region's window -> its mutants through the run's predictor ->
an :class:`~grelu_cli.core.ism_block.ISMBlock` (result kind ``ism``).

The predictor is the engine's :class:`~grelu_cli.predict.loop.Predictor`, so every mutant
gets what ``grelu predict`` gives a window: the selected tasks, the output activation,
``--untransform``, ``--rc``/``--shifts`` averaged, '-' strand outputs in genome orientation,
the kept bins reduced by ``--aggregate`` (one target per task). Plain ISM
(:class:`~grelu_cli.ism.plain.PlainISM`) runs mutated windows through
:meth:`Predictor.predict`; fast ISM (:class:`~grelu_cli.ism.fast.FastISM`) runs the
predictor's own (CPU-rewritten) model on the changed receptive fields and finishes its raw
outputs with :meth:`Predictor.finish_outputs`, so both give the same targets.

Orientation: positions, ``ref`` and the ``base`` axis are the genome's. A '-' strand window is
fed reverse-complemented (as predict feeds it), so its mutants are mapped to model offsets
``L - 1 - offset`` and complemented bases ``3 - base``
(:func:`~grelu_cli.ism.mutants.reverse_complement_mutants`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from grelu_cli.core.ism_block import ISMBlock
from grelu_cli.core.window import Window
from grelu_cli.errors import UsageError
from grelu_cli.ism.config import ISMConfig
from grelu_cli.ism.mutants import Mutants, ism_positions, mutant_list
from grelu_cli.ism.scores import delta_layout, score

if TYPE_CHECKING:
    from torch import Tensor

    from grelu_cli.predict.loop import Predictor


def fast_refusal(predictor: Predictor) -> str | None:
    """Why fast ISM cannot serve this run (None: it can)."""
    from grelu_cli.ism.fast import unsupported_reason

    if len(predictor.augs) > 1:
        return "fast ISM does not average --rc/--shifts copies (use --ism-method plain)"
    if predictor.autocast is not None:
        return "fast ISM computes in fp32 only (drop --precision or use --ism-method plain)"
    reason = unsupported_reason(predictor.model)
    return None if reason is None else str(reason)


def choose_method(predictor: Predictor, requested: str) -> tuple[str, str | None]:
    """``(method, why not fast)`` for ``--ism-method``: ``auto`` takes fast where it serves
    the model and the options; ``fast`` where it does not is a UsageError naming why."""
    if requested == "plain":
        return "plain", "--ism-method plain"
    why = fast_refusal(predictor)
    if why is None:
        return "fast", None
    if requested == "fast":
        raise UsageError(f"--ism-method fast: {why}", fix="use --ism-method auto or plain")
    return "plain", why


class ISMProducer:
    """One region's ISM with the run's predictor.

    Args:
        predictor: the run's predictor; its bins must reduce to one per task (``--aggregate``
            or one kept bin).
        config: positions and score options.
        method: ``fast`` or ``plain`` (see :func:`choose_method`).
        batch_size: mutants per forward pass.
        target_for: the target of a window, ``window -> (outputs (N, T, B) -> (N, T))``
            (gene targets: the sum over the gene's bins in that window); default: the one
            reduced bin of ``--aggregate``.
    """

    def __init__(
        self,
        predictor: Predictor,
        config: ISMConfig,
        method: str,
        batch_size: int,
        target_for: Callable[[Window], Callable[[Tensor], Tensor]] | None = None,
    ) -> None:
        layout = predictor.layout
        self.target_for = target_for
        if target_for is None and layout.n_bins != 1:
            raise UsageError(
                f"ISM needs one target per task, but {layout.n_keep} bins are kept and no "
                "aggregate is set",
                fix="use --aggregate mean|sum|max|min or --bins 1",
            )
        self.predictor, self.config, self.method = predictor, config, method
        self.batch_size = max(1, int(batch_size))
        self.flank = int(predictor.flank)
        self.seq_len = int(predictor.seq_len)
        self.mutants_done = 0
        self.seconds = 0.0  # wall time in region(): model work, no start-up or writing
        self._fast: Any = None
        if method == "fast":
            from grelu_cli.ism.fast import FastISM

            self._fast = FastISM(predictor.model)  # compiled once, reused for every window

    def positions(self, span: tuple[int, int]) -> np.ndarray:
        """(P,) window offsets (genome orientation) to mutate: the centre of the region
        ``span = (offset, length)`` in the window, or ``--ism-start/--ism-end``."""
        c = self.config
        return ism_positions(
            self.seq_len,
            span[0],
            span[1],
            ism_width=c.ism_width,
            ism_start=c.ism_start,
            ism_end=c.ism_end,
        )

    def region(self, window: Window, x: np.ndarray, span: tuple[int, int]) -> ISMBlock:
        """``x: (4, L + 2 flank)`` the window's one-hot as the model reads it ('-' windows
        reverse-complemented), ``span``: ``(offset, length)`` of the region in the window ->
        the region's :class:`ISMBlock`."""
        import time

        from grelu_cli.ism.plain import ism_targets

        t0 = time.perf_counter()
        offsets = self.positions(span)
        minus = window.strand == "-"
        model_pos = self.flank + (self.seq_len - 1 - offsets if minus else offsets)
        found = mutant_list(x, model_pos)
        # Genome orientation: the same mutants, bases complemented on a '-' window.
        genome = Mutants(
            positions=offsets,
            ref=np.where(found.ref < 0, found.ref, 3 - found.ref).astype(np.int8)
            if minus
            else found.ref,
            index=found.index,
            base=(3 - found.base).astype(np.int8) if minus else found.base,
        )
        target = _one_target if self.target_for is None else self.target_for(window)
        ref, mut = ism_targets(self._predictor(minus), x, found, target, self.batch_size)
        self.mutants_done += len(found)
        c = self.config
        delta = delta_layout(score(mut, ref, c.ism_score, c.pseudocount), genome)
        alt = delta_layout(mut, genome)
        pos = (
            window.window_start + offsets
            if window.chrom is not None
            else np.full(offsets.shape, -1, dtype=np.int64)
        )
        self.seconds += time.perf_counter() - t0
        return ISMBlock(
            window=window,
            offset=offsets.astype(np.int64),
            pos=pos.astype(np.int64),
            ref=genome.ref,
            delta=delta,
            alt=alt,
            target_ref=ref.astype(np.float32),
        )

    def _predictor(self, minus: bool) -> Any:
        """The ISM predictor (:class:`~grelu_cli.ism.plain.ISMPredictor`) for one window."""
        import torch

        flags = torch.full((1,), minus, dtype=torch.bool)
        p = self.predictor
        if self._fast is not None:
            return _Finished(self._fast, lambda y: p.finish_outputs(y, flags.expand(len(y))))
        from grelu_cli.ism.plain import PlainISM

        def forward(xb: Tensor) -> Tensor:
            strands = np.full(len(xb), minus, dtype=bool)
            values, _ = next(iter(p.predict([(xb, strands)])))
            return torch.from_numpy(values)

        return PlainISM(forward, device="cpu")


def _one_target(y: Tensor) -> Tensor:
    """(N, T, 1) reduced outputs -> (N, T) targets."""
    return y[..., 0]


class _Finished:
    """Fast ISM's raw model outputs finished as the predictor finishes its own."""

    def __init__(self, fast: Any, finish: Callable[[Tensor], Tensor]) -> None:
        self.fast, self.finish = fast, finish

    def reference(self, x: np.ndarray) -> Tensor:
        return self.finish(self.fast.reference(x)).cpu()

    def mutants(self, offsets: np.ndarray, bases: np.ndarray) -> Tensor:
        return self.finish(self.fast.mutants(offsets, bases)).cpu()
