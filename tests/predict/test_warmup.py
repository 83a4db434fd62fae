"""Warm-up guards the torch 2.13 first-call fact (README, "Architecture": warm-up).

In a fresh process the first call of a transcendental op (seen with ``torch.exp``, about 1 in
30 processes here) can return slightly wrong values; the second call is right. The predictor
therefore runs every op of the output path once on tiny tensors before predicting.

Two guards:
- deterministic: warm-up really executes exp, sigmoid, softmax, log, tanh, gelu and the power
  ``--untransform`` uses, for fp32 and the autocast dtype, and the Predictor runs it before
  predicting (removing an op or the call fails here every time);
- statistical: fresh processes (each also forking children that inherit an interpreter where
  no torch op has run yet, which is cheap) warm up, then compare the *first* real call of each
  op on a fixed tensor bit-for-bit with the second call and with a float64 numpy reference.
  If warm-up stopped working, the bug's rate (~1/30 per process) over the ~40 trials here
  would fail this test most of the time. It stays under ~15 s on 2 cores.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from torch.overrides import TorchFunctionMode

import grelu_cli.model.warmup as warmup
from grelu_cli.predict.loop import PredictOptions, Predictor

ROOT = Path(__file__).parents[2]


class Recorder(TorchFunctionMode):
    def __init__(self) -> None:
        super().__init__()
        self.calls: set[tuple[str, torch.dtype]] = set()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        x = args[0] if args else None
        if isinstance(x, torch.Tensor):
            self.calls.add((getattr(func, "__name__", str(func)), x.dtype))
        return func(*args, **(kwargs or {}))


@pytest.fixture
def fresh_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(warmup, "_DONE", set())


def test_warm_up_runs_every_output_op_for_each_dtype(fresh_state) -> None:
    rec = Recorder()
    with rec:
        warmup.warm_up("cpu", (torch.bfloat16,))
    for dtype in (torch.float32, torch.bfloat16):
        names = {name for name, d in rec.calls if d == dtype}
        for op in ("exp", "sigmoid", "softmax", "log", "tanh", "gelu", "pow", "softplus"):
            assert op in names, (op, dtype)


def test_predictor_warms_up_before_predicting(fresh_state) -> None:
    from tests.predict.predict_testkit import BinConv

    Predictor(BinConv(), seq_len=64, options=PredictOptions(device="cpu", precision="bf16"))
    assert ("cpu", str(torch.float32)) in warmup._DONE
    assert ("cpu", str(torch.bfloat16)) in warmup._DONE


CHILD = textwrap.dedent(
    """
    import math, os, sys
    import numpy as np
    import torch
    from grelu_cli.model.warmup import warm_up

    rng = np.random.default_rng(7)
    X = (rng.standard_normal((16, 8, 1031)) * 4).astype(np.float32)
    S = X[:2, :, :64]
    erf = np.vectorize(math.erf)
    x64, s64 = X.astype(np.float64), S.astype(np.float64)
    e = np.exp(s64 - s64.max(1, keepdims=True))
    REF = {
        "exp": (X, np.exp(x64)),
        "sigmoid": (X, 1 / (1 + np.exp(-x64))),
        "tanh": (X, np.tanh(x64)),
        "log": (np.abs(X) + 1, np.log((np.abs(X) + 1).astype(np.float64))),
        "softmax": (S, e / e.sum(1, keepdims=True)),
        "gelu": (S, 0.5 * s64 * (1 + erf(s64 / math.sqrt(2)))),
    }
    OPS = {
        "exp": torch.exp, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "log": torch.log,
        "softmax": lambda t: torch.softmax(t, dim=1), "gelu": torch.nn.functional.gelu,
    }

    def check():
        warm_up("cpu")
        bad = []
        for name, (inp, ref) in REF.items():
            t = torch.from_numpy(inp.copy())
            first, second = OPS[name](t), OPS[name](t)
            # float32 rounding allowance: 1e-5 relative plus 1e-6 absolute (gelu -> 0 tails)
            err = np.max(np.abs(first.double().numpy() - ref) / (1e-5 * np.abs(ref) + 1e-6))
            if not torch.equal(first, second) or err > 1:
                bad.append(f"{name}: err/tol {err:.2e}, equal {torch.equal(first, second)}")
        return bad

    # Children first: forked before this process ran any torch op, each starts cold.
    failures = []
    for _ in range(int(sys.argv[1])):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            os.write(w, ";".join(check()).encode())
            os._exit(0)
        os.close(w)
        msg = os.read(r, 10000).decode()
        os.close(r)
        os.waitpid(pid, 0)
        if msg:
            failures.append(msg)
    failures += check()
    print("|".join(failures))
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="uses os.fork")
def test_first_calls_after_warm_up_are_right_in_fresh_processes() -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, "3"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(10)
    ]
    failures = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        if out.strip():
            failures.append(out.strip())
    assert not failures, failures
