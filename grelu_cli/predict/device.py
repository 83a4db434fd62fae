"""Where and how precisely the model runs: ``--device``, ``--precision``, ``--threads``.

A malformed device spec (``tpu``, ``mps``, ``cuda:-1``) is a usage error (exit 2); a
well-formed one naming a device this machine lacks (``cuda:7``, any ``cuda`` without CUDA) is
a missing resource (exit 4), like ``--devices all`` without a GPU.

``auto`` means the first CUDA device when torch sees one, else the CPU (tangermeme's
``device=None``). Precision ``fp32`` runs the model as stored. ``bf16``/``fp16`` run the trunk
under ``torch.autocast`` (CUDA, or CPU for bf16 where the CPU supports it); the predictor keeps
the head and everything after it in fp32.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from grelu_cli.core.choices import PRECISIONS
from grelu_cli.errors import MissingResourceError, UsageError

if TYPE_CHECKING:
    import torch


_SPEC = re.compile(r"cuda(?::(\d+))?")


def parse_device(spec: str | None, option: str = "--device") -> tuple[str, int | None]:
    """``auto`` | ``cpu`` | ``cuda`` | ``cuda:N`` -> ``(kind, index)``, without torch.

    A spec that names no device grelu-cli can run on (``tpu``, ``mps``, ``cuda:-1``,
    ``cuda:x``) is a usage error (exit 2); whether the device exists here is
    :func:`check_device`'s question.
    """
    text = (spec or "auto").strip().lower()
    if text in ("auto", "cpu"):
        return text, None
    m = _SPEC.fullmatch(text)
    if m is None:
        raise UsageError(
            f"{option} {spec!r} is not auto, cpu, cuda or cuda:N",
            fix=f"use {option} auto, cpu, cuda or cuda:0",
        )
    return "cuda", int(m.group(1) or 0)


def check_device(spec: str | None, option: str = "--device", given: str | None = None) -> None:
    """The device ``spec`` names exists on this machine (imports torch for a CUDA spec).

    A well-formed spec naming a device this machine lacks (``cuda:7`` on a 2-GPU node, any
    ``cuda`` without CUDA) is a missing resource: :class:`MissingResourceError`, exit 4.
    ``given`` is the whole option value when ``spec`` is one item of a list (``--devices``).
    """
    kind, index = parse_device(spec, option)
    if kind != "cuda" or index is None:
        return
    import torch

    where = f"{option} {given}: device {spec}" if given else f"{option} {spec}: this device"

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count == 0:
        raise MissingResourceError(
            f"{where} does not exist here (torch sees no CUDA device on this machine)",
            fix=f"use {option} cpu (or auto), or run on a GPU node",
        )
    if index >= count:
        raise MissingResourceError(
            f"{where} does not exist here (this machine has {count} CUDA device(s), "
            f"cuda:0..cuda:{count - 1})",
            fix=f"use {option} cuda:0 .. cuda:{count - 1}",
        )


def resolve_device(spec: str | None = "auto") -> torch.device:
    """``auto`` | ``cpu`` | ``cuda`` | ``cuda:N`` -> a torch device that exists here.

    Raises :class:`UsageError` for a malformed spec, :class:`MissingResourceError` for a
    device this machine lacks (:func:`check_device`).
    """
    import torch

    kind, index = parse_device(spec)
    if kind == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if kind == "cpu":
        return torch.device("cpu")
    check_device(spec)
    return torch.device("cuda", index or 0)


def cpu_has_fast_bf16() -> bool:
    """Whether this CPU runs bf16 convolutions in hardware (AVX-512 BF16 or AMX, through
    oneDNN). Without it torch falls back to reference kernels: measured on an AVX2-only AMD
    EPYC (benchmarks/README.md), bf16 ran 4-7x slower than fp32."""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``precision`` on ``device``; None for fp32."""
    import torch

    if precision not in PRECISIONS:
        raise UsageError(
            f"--precision {precision!r} is not one of {', '.join(PRECISIONS)}",
            fix="use --precision fp32, bf16 or fp16",
        )
    if precision == "fp32":
        return None
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    if device.type == "cuda":
        if dtype is torch.bfloat16 and not torch.cuda.is_bf16_supported():
            raise UsageError(
                f"--precision bf16: {torch.cuda.get_device_name(device)} does not support bf16",
                fix="use --precision fp16 or fp32",
            )
        return dtype
    if device.type == "cpu":
        if dtype is torch.float16:
            raise UsageError(
                "--precision fp16 is for CUDA devices; on CPU it is slow or unsupported",
                fix="use --precision bf16 (or fp32) on CPU",
            )
        return dtype
    raise UsageError(f"--precision {precision} is not supported on {device}", fix="use fp32")


def set_threads(threads: int | None) -> None:
    """``--threads N``: torch's intra-op CPU threads (None leaves torch's default)."""
    import torch

    if threads is None:
        return
    if threads < 1:
        raise UsageError(f"--threads {threads} must be at least 1", fix="use --threads 1 or more")
    torch.set_num_threads(int(threads))


# glibc mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_KEEP_ENV = ("MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_ARENA_MAX", "LD_PRELOAD")
_KEPT = False


def keep_freed_memory() -> bool:
    """Tell glibc's malloc to keep freed memory for reuse instead of returning it to the OS.

    A CPU forward pass frees and re-allocates the same multi-megabyte activations every batch.
    By default glibc serves those with fresh ``mmap``s (or trims its heap after each free), so
    every batch page-faults its activations in again: at batch 64 kernel time can exceed the
    arithmetic. With ``mmap`` off for large blocks and trimming off, each batch reuses the
    previous batch's pages; peak memory is unchanged (the same peak is simply kept).

    The process-wide equivalent of ``MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=<huge>``. Does
    nothing (returns False) off glibc, or when the user already set malloc variables or
    preloads another allocator (their choice wins). Idempotent.
    """
    global _KEPT
    import os
    import sys

    if _KEPT:
        return True
    if not sys.platform.startswith("linux") or any(os.environ.get(k) for k in _KEEP_ENV):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and other C libraries: nothing to tune
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # 2**31 - 1 bytes is the largest trim threshold an int can say: in practice, never trim.
    ok = mallopt(_M_MMAP_MAX, 0) == 1 and mallopt(_M_TRIM_THRESHOLD, 2**31 - 1) == 1
    _KEPT = ok
    return ok
