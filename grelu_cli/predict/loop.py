"""The batch prediction loop: ``(x, windows)`` batches in, CPU float32 arrays out, as produced.

:class:`Predictor` owns a model for one run. Built once (device, precision, task selection,
warm-up), its :meth:`Predictor.predict` takes any iterable of ``(x, windows)`` (``x``: (N, 4,
L + 2 * shifts) uint8 or float32 one-hot, '-' windows already reverse-complemented) and yields
``(values, windows)`` per input batch, ``values`` (N, T, B) float32 numpy in genome orientation.
Nothing accumulates beyond one batch in flight.

Per window, the values are those of gReLU 1.1.0's ``predict_on_dataset(augment_aggfunc="mean")``
with the same augmentation and ``Aggregate`` transform; for every augmented copy, in order:

    model -> activation (unless --logits) -> --untransform -> rc copies: flip bins back and
    swap strand pairs -> drop partner-only tracks -> --bins / --aggregate over bins
    -> mean over copies (gReLU's order of the sum) -> '-' windows flipped to genome order

A replicate ensemble (:class:`~grelu_cli.model.ensemble.ReplicateEnsemble`, ``--replicate
0,1,..``) replaces the first step by the mean over replicates of the *activated* outputs
(each member runs in turn: trunk under autocast, head in fp32, activation; the sum is
accumulated), so ``--untransform`` and everything after apply to the averaged prediction, as
for one model. :meth:`Predictor.select_replicate` runs one member alone instead.

Each window's result depends only on its own input: batch size never changes values.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union, cast

from grelu_cli.core.window import Window
from grelu_cli.errors import InputDataError, UsageError
from grelu_cli.genome.bins import BinLayout, bin_layout
from grelu_cli.model.ensemble import ReplicateEnsemble
from grelu_cli.predict.augment import Augmentation, augment, augmentations, swap_strands
from grelu_cli.predict.batch_size import BatchSizer, attention_logit_bytes, parse_batch_size
from grelu_cli.predict.device import (
    autocast_dtype,
    keep_freed_memory,
    resolve_device,
    set_threads,
)
from grelu_cli.predict.tasks import TaskPlan, plan_tasks, strand_pairs
from grelu_cli.predict.transform import activate, activation_name, reduce_bins, untransform_for

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import torch
    from torch import nn

    from grelu_cli.core.block import Block
    from grelu_cli.core.geometry import Geometry


#: Which inputs of a batch are '-' windows: (N,) bool, or the windows (their ``strand``).
Strands = Union["np.ndarray", Sequence[Window]]


@dataclass(frozen=True)
class PredictOptions:
    """The run's prediction options (CLI flags of the same names)."""

    device: str = "auto"
    precision: str = "fp32"
    batch_size: int | str = "auto"
    threads: int | None = None
    rc: bool = False
    shifts: int = 0
    logits: bool = False
    untransform: bool = False
    #: ``--untransform-mode``: grelu (counts) or calico (times scale: untransform_preds1).
    untransform_mode: str = "grelu"
    aggregate: str | None = None
    center_bins: int | None = None
    #: Inference-only rewrites (batch norm folding, channels-last convs, in-place blocks);
    #: outputs stay within 1e-5 relative. See :mod:`grelu_cli.model.inference`.
    optimize: bool = True
    #: On the CPU, keep freed memory for the next batch instead of page-faulting it in again
    #: (:func:`~grelu_cli.predict.device.keep_freed_memory`). Turn on only when the writer
    #: runs off the main thread (:class:`~grelu_cli.predict.background.BackgroundWriter`):
    #: with the writer's buffers allocated between batches on the same thread, glibc's heap
    #: fragments and grows by about one activation per batch.
    keep_memory: bool = False
    #: ``torch.compile`` the model (trunk under autocast); falls back to eager, recording
    #: ``Predictor.compile_error``, when compilation fails. Off by default: on CPU it costs
    #: seconds to tens of seconds of start-up for little gain (benchmarks/README.md).
    compile: bool = False


class Predictor:
    """Runs one model over batches of windows. Takes ownership of ``model`` (moves it to the
    device, sets eval mode, may restrict its head to the selected tasks).

    Args:
        model: (N, 4, L) -> (N, T, L_out) module; ``geometry()`` and ``select_tasks()`` are
            used when present.
        seq_len: model input length L (windows' length; inputs carry ``shifts`` extra bases
            on each side).
        options: device, precision, batch size, augmentation and output options.
        activation: the output activation, "exp" | "sigmoid" | "softmax" | "none", or the
            zoo's ``OutputActivation``.
        tasks: the model's tasks table (``name`` column; ``strand_pair``; Borzoi's ``scale``,
            ``clip_soft``, ``sum_stat``), or None.
        selected: table rows to output, in order (see :func:`~grelu_cli.predict.tasks.
            resolve_tasks`); None = all tasks.
        geometry: overrides ``model.geometry()``.
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        seq_len: int,
        options: PredictOptions | None = None,
        activation: Any = "none",
        tasks: pd.DataFrame | None = None,
        selected: Sequence[int] | None = None,
        geometry: Geometry | None = None,
    ) -> None:
        import torch

        opts = options or PredictOptions()
        self.options = opts
        set_threads(opts.threads)
        self.device = resolve_device(opts.device)
        self.autocast = autocast_dtype(opts.precision, self.device)
        if opts.shifts < 0:
            raise UsageError(f"--shifts {opts.shifts} must be 0 or more", fix="use --shifts 0..N")
        self.seq_len = int(seq_len)
        self.flank = int(opts.shifts)
        self.augs: list[Augmentation] = augmentations(opts.rc, opts.shifts)

        geometry = geometry or model.geometry()  # type: ignore[operator]
        check = getattr(geometry, "check_len", None)
        if check is not None:
            try:
                check(self.seq_len)
            except ValueError as e:
                raise UsageError(str(e), fix="choose a --seq-len the model accepts") from None
        self.geometry = geometry
        positions = self.seq_len // max(1, int(getattr(geometry, "bin_size", 1) or 1))
        self.sizer = BatchSizer(
            parse_batch_size(opts.batch_size),
            self.device,
            self.seq_len,
            attention_logit_bytes(model, positions),
        )
        self.layout: BinLayout = bin_layout(
            geometry, self.seq_len, center_bins=opts.center_bins, aggregate=opts.aggregate
        )

        self.activation = "none" if opts.logits else activation_name(activation)
        if opts.untransform and opts.logits:
            raise UsageError(
                "--untransform and --logits were both given",
                fix="--untransform works on activated predictions; drop --logits",
            )

        n_tasks = _n_tasks(model, tasks)
        self.tasks = tasks
        self.plan: TaskPlan | None = None
        if n_tasks is not None:
            self.plan = plan_tasks(
                n_tasks,
                selected,
                pairs=strand_pairs(tasks, n_tasks),
                rc=opts.rc,
                elementwise=self.activation != "softmax",
                can_select=callable(getattr(model, "select_tasks", None)),
            )
        elif selected is not None:
            raise UsageError(
                "tasks were selected but the model has no tasks table and no n_tasks",
                fix="drop --tasks/--tasks-file/--tasks-query for this model",
            )
        self.untransform = None
        if opts.untransform:
            self.untransform = untransform_for(
                tasks, self.plan.computed if self.plan else (), mode=opts.untransform_mode
            )

        model.eval()
        if self.plan is not None and self.plan.use_select_tasks:
            model.select_tasks(list(self.plan.computed))  # type: ignore[operator]
        if opts.optimize:
            from grelu_cli.model.inference import optimize_for_inference

            # Channels-last 1-D convs pay on oneDNN (CPU); cuDNN prefers the default layout.
            optimize_for_inference(model, channels_last=self.device.type == "cpu")
        if opts.keep_memory and self.device.type == "cpu":
            keep_freed_memory()
        self.model = model.to(self.device)
        # A replicate ensemble runs its members one by one (see the module docstring); each
        # member is treated as one model would be.
        self._ensemble = model if isinstance(model, ReplicateEnsemble) else None
        self._members: list[Any] = (
            list(self._ensemble.members) if self._ensemble is not None else [self.model]
        )
        # Run the trunk under autocast and the head in fp32 when the model is the usual
        # ``head(embedding(x))`` (gReLU's BaseModel); otherwise autocast all, outputs in fp32.
        first = self._members[0]
        self._split = isinstance(getattr(first, "embedding", None), torch.nn.Module) and (
            isinstance(getattr(first, "head", None), torch.nn.Module)
        )
        self._nets: list[Any] = list(self._members)
        self._trunks: list[Any] = [getattr(m, "embedding", None) for m in self._members]
        self.compile_error: str | None = None
        if opts.compile:
            self._compile()
        from grelu_cli.model.warmup import warm_up

        warm_up(self.device, (self.autocast,) if self.autocast is not None else ())
        self._slice = None
        if self.plan is not None and self.plan.slice_model_output is not None:
            self._slice = torch.tensor(self.plan.slice_model_output, device=self.device)

    # ----------------------------------------------------------------------------------
    @property
    def n_replicates(self) -> int:
        """Models averaged per prediction: the ensemble's members, else 1."""
        return len(self._members)

    def select_replicate(self, index: int | None) -> None:
        """Predict with ensemble member ``index`` alone (0-based position) from the next
        batch on; None: the mean over the members. A single model takes only None or 0."""
        if self._ensemble is not None:
            self._ensemble.select(index)
        elif index not in (None, 0):
            raise IndexError(f"replicate {index} of a single model")

    @property
    def task_names(self) -> list[str]:
        """Names of the output tracks, in output order (indices when there is no table)."""
        if self.plan is None:
            return []
        if self.tasks is None or "name" not in self.tasks.columns:
            return [str(i) for i in self.plan.selected]
        names = self.tasks["name"].tolist()
        return [str(names[i]) for i in self.plan.selected]

    def predict(
        self, batches: Iterable[tuple[torch.Tensor, Strands]]
    ) -> Iterator[tuple[np.ndarray, Strands]]:
        """Yield ``(values (N, T, B) float32, strands)`` for each input batch, in order.

        ``strands`` says which inputs are '-' windows (their outputs are flipped back to
        genome order): a (N,) bool array (True for '-'), or the N windows themselves
        (:class:`~grelu_cli.core.window.Window`, their ``strand`` is read); it comes back
        with the values unchanged.

        On CUDA the next batch is queued before the previous one is handed out, so the
        device keeps working while the caller writes; on the CPU each batch is handed out as
        soon as it is done.
        """
        lag = self.device.type == "cuda"  # on the CPU the work is synchronous anyway
        pending: tuple[Any, ...] | None = None
        for x, windows in batches:
            current = self._launch(x, windows)
            if pending is not None:
                yield self._finish(pending)
                pending = None
            if lag:
                pending = current
            else:
                yield self._finish(current)
        if pending is not None:
            yield self._finish(pending)

    def blocks(self, batches: Iterable[tuple[torch.Tensor, list[Window]]]) -> Iterator[Block]:
        """:meth:`predict`, each result placed on the genome as a writer ``Block``."""
        for values, windows in self.predict(batches):
            yield self.layout.block(values, cast("list[Window]", windows))

    # ----------------------------------------------------------------------------------
    def _launch(self, x: torch.Tensor, windows: Strands) -> tuple[Any, ...]:
        import numpy as np
        import torch

        n = x.shape[0]
        if n != len(windows):
            raise ValueError(f"batch has {n} inputs but {len(windows)} windows")
        expect = self.seq_len + 2 * self.flank
        if x.ndim != 3 or x.shape[1] != 4 or x.shape[2] != expect:
            raise InputDataError(
                f"input batch of shape {tuple(x.shape)}: the model needs (N, 4, {expect}) "
                f"({self.seq_len} bp windows + {self.flank} flanking bases on each side for "
                "--shifts)",
                fix="build batches with the predictor's seq_len and flank",
            )
        cuda = self.device.type == "cuda"
        if cuda and not x.is_pinned():
            x = x.pin_memory()
        if isinstance(windows, np.ndarray):
            minus = torch.from_numpy(np.asarray(windows, dtype=bool))
        else:
            minus = torch.tensor([w.strand == "-" for w in windows], dtype=torch.bool)
        n_tasks_out = len(self.plan.selected) if self.plan is not None else None
        out: torch.Tensor | None = None

        def work(i: int, j: int) -> None:
            nonlocal out
            y = self._chunk(x[i:j], minus[i:j])
            if out is None:
                shape = (n, n_tasks_out or y.shape[1], y.shape[2])
                out = torch.empty(shape, dtype=torch.float32, pin_memory=cuda)
            out[i:j].copy_(y, non_blocking=cuda)

        with torch.inference_mode():
            self.sizer.run(n, work)
        if out is None:  # an empty batch
            t = len(self.plan.selected) if self.plan is not None else 0
            out = torch.empty((0, t, self.layout.n_bins), dtype=torch.float32)
        done = None
        if cuda:
            done = torch.cuda.Event()
            done.record()
        return out, windows, done, x

    @staticmethod
    def _finish(pending: tuple[Any, ...]) -> tuple[np.ndarray, Strands]:
        out, windows, done, _x = pending
        if done is not None:
            done.synchronize()
        return out.numpy(), windows

    def _forward(self, x: torch.Tensor, member: int = 0) -> torch.Tensor:
        """(n, 4, L) float input -> (n, Tc, L_out) float32 raw outputs of the computed tasks
        (of ensemble member ``member``; the model itself when it is not an ensemble)."""
        import torch

        try:
            if self.autocast is None:
                y = self._nets[member](x)
            elif self._split:
                with torch.autocast(self.device.type, dtype=self.autocast):
                    h = self._trunks[member](x)
                head: Any = self._members[member].head
                # The head runs in fp32. One that casts its own input (the inference conv head
                # pools before its 1x1 conv) saves converting the whole trunk output first.
                y = head(h if getattr(head, "takes_low_precision", False) else h.float())
            else:
                with torch.autocast(self.device.type, dtype=self.autocast):
                    y = self._nets[member](x)
        except Exception as e:
            if not self._compiled or isinstance(e, self.sizer.oom):
                raise
            # Compilation happens at the first call: fall back to eager for the whole run.
            self.compile_error = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
            self._nets = list(self._members)
            self._trunks = [getattr(m, "embedding", None) for m in self._members]
            self._compiled = False
            return self._forward(x, member)
        y = y.float()
        if self._slice is not None and self.activation != "softmax":
            y = y.index_select(1, self._slice)
        return y

    _compiled = False

    def _compile(self) -> None:
        """torch.compile the parts :meth:`_forward` calls (the trunk alone when autocast
        splits trunk and head). Inductor's freezing folds weights into the graph, which is
        what pays on CPU."""
        import torch

        try:
            import torch._inductor.config as inductor_config

            inductor_config.freezing = True
        except ImportError:  # pragma: no cover - inductor is part of torch >= 2.0
            pass
        for i, member in enumerate(self._members):
            if self.autocast is not None and self._split:
                self._trunks[i] = torch.compile(cast(Any, member.embedding), dynamic=False)
            else:
                self._nets[i] = torch.compile(member, dynamic=False)
        self._compiled = True

    def _member_output(self, member: int, x: torch.Tensor) -> torch.Tensor:
        """(n, 4, L) -> (n, Tc, L_out) activated float32 outputs of one member."""
        return self._activate(self._forward(x, member))

    def _activate(self, y: torch.Tensor) -> torch.Tensor:
        """Raw float32 outputs of the computed tasks (softmax: of every task) -> activated
        outputs of the computed tasks."""
        y = activate(y, self.activation)
        if self._slice is not None and self.activation == "softmax":
            y = y.index_select(1, self._slice)  # softmax needed every task first
        return y

    def _activated(self, x: torch.Tensor) -> torch.Tensor:
        """The activated outputs: the model's, or the mean over the ensemble's active
        members (one member's activations alive at a time)."""
        if self._ensemble is None:
            return self._member_output(0, x)
        return self._ensemble.combine(x, self._member_output)

    def _chunk(self, x: torch.Tensor, minus: torch.Tensor) -> torch.Tensor:
        """One chunk of windows, all augmented copies: (n, 4, L + 2 flank) -> (n, T, B)."""
        import torch

        x = x.to(self.device, non_blocking=True)
        if x.dtype != torch.float32:
            x = x.float()  # uint8 one-hot converts on the device
        # Flip decisions are made from the CPU copy (no device sync); the device copy selects.
        minus_dev = minus.to(self.device, non_blocking=True)
        acc: torch.Tensor | None = None
        for aug in self.augs:
            y = self._activated(augment(x, aug, self.seq_len))
            y = self._finish_pass(y, aug, minus, minus_dev)
            acc = y if acc is None else acc + y
        assert acc is not None
        if len(self.augs) > 1:
            acc = acc / len(self.augs)
        return acc

    def _finish_pass(
        self, y: torch.Tensor, aug: Augmentation, minus: torch.Tensor, minus_dev: torch.Tensor
    ) -> torch.Tensor:
        """One augmented copy's activated outputs (n, Tc, L_out) of the computed tasks ->
        (n, T, B): untransformed, strands swapped back, kept bins in genome orientation."""
        plan = self.plan
        if self.untransform is not None:
            y = self.untransform(y)
        y = swap_strands(y, aug, plan.rc_swap if plan else None)
        if plan is not None and plan.drops:
            y = y[:, list(plan.keep)]
        # An rc copy of a '+' window, or a plain copy of a '-' window, reads the genome
        # right to left; an rc copy of a '-' window reads it left to right again.
        return self._to_genome_bins(y, minus ^ aug.rc, minus_dev ^ aug.rc)

    def finish_outputs(self, y: torch.Tensor, minus: torch.Tensor) -> torch.Tensor:
        """Raw model outputs of un-augmented inputs, ``(n, Tc, L_out)`` -> what
        :meth:`predict` gives for them, ``(n, T, B)`` float32 (task slice, activation,
        untransform, genome orientation, kept bins). For engines that run ``self.model``
        themselves (fast ISM, :mod:`grelu_cli.ism.producer`); ``minus``: (n,) bool, on the CPU.
        """
        import torch

        with torch.inference_mode():
            y = y.float()
            if self._slice is not None and self.activation != "softmax":
                y = y.index_select(1, self._slice)
            aug = Augmentation(rc=False, offset=0)
            return self._finish_pass(self._activate(y), aug, minus, minus.to(y.device))

    def _to_genome_bins(
        self, y: torch.Tensor, flip: torch.Tensor, flip_dev: torch.Tensor
    ) -> torch.Tensor:
        """(n, T, L_out) in model orientation -> (n, T, B) kept bins in genome orientation.

        flip, flip_dev: (n,) bool on the CPU / on y's device, windows whose output runs right
        to left on the genome.
        """
        import torch

        layout = self.layout
        if layout.n_out == 1 or (layout.aggregate and not layout.selects):
            # Orientation does not matter: aggregate as the model emitted it (gReLU's order).
            return reduce_bins(y, layout)
        if not bool(flip.any()):
            return reduce_bins(y, layout)
        flipped = reduce_bins(y.flip(-1), layout)
        if bool(flip.all()):
            return flipped
        return torch.where(flip_dev[:, None, None], flipped, reduce_bins(y, layout))


def _n_tasks(model: Any, tasks: pd.DataFrame | None) -> int | None:
    n_model = getattr(model, "n_tasks", None)
    n_model = int(n_model) if isinstance(n_model, int) else None
    if tasks is not None:
        if n_model is not None and n_model != len(tasks):
            raise InputDataError(
                f"the model outputs {n_model} tasks but its tasks table has {len(tasks)} rows",
                fix="check that the tasks table belongs to this checkpoint",
            )
        return len(tasks)
    return n_model
