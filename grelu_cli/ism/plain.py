"""Plain ISM for any model, and the per-window loop both ISM paths share.

Plain ISM: the reference window is predicted once, then the mutants in full batches of mutated
one-hot windows (:func:`grelu_cli.ism.mutants.mutant_batches`) through the model. Fast ISM
(:class:`grelu_cli.ism.fast.FastISM`) has the same two calls, so :func:`ism_targets` runs
either.

Augmentation is the engine's: ``model`` may be any callable ``(N, 4, L) -> (N, T, L_out)``;
the engine passes its augmenting forward (``--rc``/``--shifts`` averaged as predict does it),
so every mutant is averaged over the same passes as its reference. The ``target`` callable is
the engine's reduction too: output activation, kept bins, ``--aggregate``
(:func:`grelu_cli.ism.scores.targets`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np
import torch
from torch import Tensor

from grelu_cli.ism.mutants import Mutants, mutate_batch


class ISMPredictor(Protocol):
    """What :func:`ism_targets` needs: the reference output once, then mutants' outputs."""

    def reference(self, x: np.ndarray) -> Tensor:
        """x: (4, L) -> (1, T, L_out)."""
        ...

    def mutants(self, offsets: np.ndarray, bases: np.ndarray) -> Tensor:
        """(n,) window offsets and bases -> (n, T, L_out) for the last reference window."""
        ...


class PlainISM:
    """ISM by predicting every mutated window: any model (attention, GRU, Borzoi, ...).

    Args:
        model: callable ``(N, 4, L) -> (N, T, L_out)`` (an ``nn.Module`` in eval mode or the
            engine's augmenting forward).
        device, dtype: where and in which dtype the one-hot batches go.
    """

    def __init__(
        self,
        model: Callable[[Tensor], Tensor],
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> None:
        self.model = model
        self.device = torch.device(device)
        self.dtype = dtype
        self._x: np.ndarray | None = None

    def _run(self, batch: np.ndarray) -> Tensor:
        with torch.no_grad():
            return self.model(torch.from_numpy(batch).to(self.device, self.dtype))

    def reference(self, x: np.ndarray) -> Tensor:
        """x: (4, L) one-hot -> (1, T, L_out); remembered for :meth:`mutants`."""
        self._x = np.ascontiguousarray(x, dtype=np.float32)
        return self._run(self._x[None])

    def mutants(self, offsets: np.ndarray, bases: np.ndarray) -> Tensor:
        """Mutated copies of the reference as one batch -> (n, T, L_out)."""
        if self._x is None:
            raise RuntimeError("call reference(x) before mutants()")
        return self._run(mutate_batch(self._x, np.asarray(offsets), np.asarray(bases)))


def ism_targets(
    predictor: ISMPredictor,
    x: np.ndarray,
    mutants: Mutants,
    target: Callable[[Tensor], Tensor],
    batch_size: int = 128,
) -> tuple[np.ndarray, np.ndarray]:
    """One window's ISM: ``(target_ref (T,), target_mut (M, T))`` float32.

    The reference is predicted once; the mutants go in batches of ``batch_size`` (all full but
    the last). ``target``: model output ``(N, T, L_out)`` -> ``(N, T)``.
    """
    ref = target(predictor.reference(x)).float().cpu().numpy()[0]
    out = np.empty((len(mutants), ref.shape[0]), dtype=np.float32)
    offsets, bases = mutants.offset, mutants.base
    for lo in range(0, len(mutants), batch_size):
        sl = slice(lo, min(lo + batch_size, len(mutants)))
        y = predictor.mutants(offsets[sl], bases[sl])
        out[sl] = target(y).float().cpu().numpy()
    return ref, out
