"""ISM throughput, plain batches vs fast ISM (receptive-field patching), side by side.

Per model at gReLU-default sizes (random weights, eval mode, the CPU inference rewrites that
``grelu predict`` applies): one random window, ISM over the central ``--positions`` bases x 3
bases. Plain: reference once, then the mutated windows in batches of ``--batch-size`` through
the model (:class:`grelu_cli.ism.plain.PlainISM`; for time, over the first
``--plain-positions`` positions only: its cost per mutant does not depend on which). Fast:
:class:`grelu_cli.ism.fast.FastISM` over all positions. Both through
:func:`grelu_cli.ism.plain.ism_targets` with a mean over bins as the target. Reported:
mutants/s each (reference included), the ratio, and the largest |fast - plain| target
difference on the shared mutants. Numbers are reported, never asserted.

Threads: ``--threads 1`` by default. Fast ISM is many small operations per layer; on a busy
shared machine each multi-threaded operation waits on a barrier for a core another process
holds, which made 2-thread fast ISM 5-20x slower than 1-thread here (plain, a few large
convolutions, barely moved). Compare the two paths at the same thread count, on an idle
machine for absolute numbers.

    python benchmarks/bench_ism.py [--models conv,dilated,explainn] [--positions 200]
        [--plain-positions 40] [--batch-size 128] [--threads 1] [--borzoi]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from grelu_cli.ism.fast import FastISM
from grelu_cli.ism.mutants import ism_positions, mutant_list
from grelu_cli.ism.plain import PlainISM, ism_targets
from grelu_cli.model import models as M
from grelu_cli.model.inference import optimize_for_inference
from grelu_cli.model.models.explainn import ExplaiNNModel

#: name -> (factory, window length); gReLU's default hyperparameters.
MODELS = {
    "conv": (lambda: M.ConvModel(n_tasks=1), 2048),  # 2 kb ConvModel, gReLU defaults
    "dilated": (lambda: M.DilatedConvModel(n_tasks=1), 2114),  # ChromBPNet-like, 8 blocks
    "explainn": (lambda: ExplaiNNModel(n_tasks=1, in_len=1000), 1000),  # 300 units, k=19
    # A reduced Borzoi (plain only: attention reads every position).
    "borzoi_small": (
        lambda: M.BorzoiModel(
            stem_channels=32,
            stem_kernel_size=15,
            init_channels=32,
            channels=64,
            n_tasks=4,
            n_conv=5,
            n_transformers=2,
            key_len=16,
            value_len=32,
            n_heads=4,
            pos_dropout=0.0,
            attn_dropout=0.0,
            ff_dropout=0.0,
            crop_len=4,
            final_act_func="softplus",
        ),
        8192,
    ),
}


def _target(y: torch.Tensor) -> torch.Tensor:
    return y.mean(dim=-1)


def _time(predictor, x, mutants, batch_size) -> tuple[float, np.ndarray]:
    t0 = time.perf_counter()
    _, out = ism_targets(predictor, x, mutants, _target, batch_size=batch_size)
    return time.perf_counter() - t0, out


def run(name: str, args: argparse.Namespace) -> None:
    factory, length = MODELS[name]
    torch.manual_seed(0)
    model = factory().eval()
    optimize_for_inference(model)
    rng = np.random.default_rng(0)
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, length)].T.copy()
    pos = ism_positions(length, 0, length, ism_width=args.positions)
    muts = mutant_list(x, pos)
    sub = mutant_list(x, pos[: args.plain_positions])
    plain = PlainISM(model)
    _time(plain, x, mutant_list(x, pos[:2]), args.batch_size)  # warm-up (kernel selection)
    t_plain, out_plain = _time(plain, x, sub, args.batch_size)
    rate_plain = len(sub) / t_plain
    line = f"{name:13s} L={length:5d}  plain {rate_plain:9.1f} mutants/s"
    line += f" ({len(sub)} in {t_plain:.2f} s)"
    if name != "borzoi_small":
        fast = FastISM(model)
        _time(fast, x, mutant_list(x, pos[:2]), args.batch_size)
        t_fast, out_fast = _time(fast, x, muts, args.batch_size)
        rate_fast = len(muts) / t_fast
        diff = float(np.abs(out_fast[: len(sub)] - out_plain).max())
        scale = float(np.abs(out_plain).max())
        line += (
            f"  fast {rate_fast:9.1f} mutants/s ({len(muts)} in {t_fast:.2f} s)"
            f"  fast/plain {rate_fast / rate_plain:6.1f}x  max|diff| {diff:.2e} (|y| {scale:.2e})"
        )
    print(line, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="conv,dilated,explainn")
    ap.add_argument("--positions", type=int, default=200)
    ap.add_argument("--plain-positions", type=int, default=40)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--borzoi", action="store_true", help="also plain ISM of a reduced Borzoi")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_float32_matmul_precision("highest")
    names = [n for n in args.models.split(",") if n and n != "none"]
    names += ["borzoi_small"] if args.borzoi else []
    print(f"torch {torch.__version__}, {args.threads} threads, batch {args.batch_size}")
    for name in names:
        run(name, args)


if __name__ == "__main__":
    main()
