"""Train a small attention model on the demo data, for checking bf16 against fp32 on trained
weights (random weights are no fidelity test: many of their tracks hardly vary, so bf16
rounding is a large share of their variance).

The model is a ``ConvTransformerModel`` with Borzoi's kind of attention: relative positions
(central mask), value heads wider than key heads (the path Borzoi and Enformer take), pooled
conv tower before the transformers. Trained with the demo's recipe (``examples/demo/
make_demo.py``: same genome, same targets, Poisson loss, chr3 held out) for ``--steps`` steps,
and saved as a gReLU-format checkpoint (``benchmarks/models/conv_transformer_demo.ckpt``, about
300 kB; gReLU 1.1.0 loads it too).

    python benchmarks/train_attention.py [--steps 400] [--out benchmarks/models/...ckpt]

Then, for the fidelity numbers (bf16 vs fp32 from the CLI, per-track Pearson r over the
held-out chromosome)::

    python benchmarks/train_attention.py --compare-only
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEMO = HERE.parent / "examples" / "demo"
sys.path.insert(0, str(DEMO))

import make_demo as demo  # noqa: E402

OUT = HERE / "models" / "conv_transformer_demo.ckpt"
SEQ_LEN = demo.SEQ_LEN  # 1,024 bp in
POOL = 4  # 4 bp bins: 256 positions into the transformers
CROP = demo.CROP // POOL  # bins cropped at each end: 896 bp out, as the demo model
MODEL_PARAMS = {
    "model_type": "ConvTransformerModel",
    "n_tasks": 2,
    "stem_channels": 32,
    "stem_kernel_size": 15,
    "n_conv": 3,
    "channel_init": 48,
    "kernel_size": 9,
    "pool_func": "max",
    "pool_size": 2,
    "n_transformers": 2,
    "n_heads": 4,
    "key_len": 8,
    "value_len": 12,  # wider value heads than key heads, as Borzoi (64/192) and Enformer
    "n_pos_features": 16,
    "crop_len": CROP,
    "final_pool_func": None,
}


def bin_targets(y: np.ndarray) -> np.ndarray:
    """(T, L) per-base targets -> (T, L / POOL) bin means."""
    return y.reshape(y.shape[0], -1, POOL).mean(-1)


def train(steps: int, seed: int = demo.SEED):
    import torch

    from grelu_cli.genome.encode import one_hot
    from grelu_cli.model.models import ConvTransformerModel

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed + 2)
    seqs, sites = demo.make_genome()
    kwargs = {k: v for k, v in MODEL_PARAMS.items() if k != "model_type"}
    model = ConvTransformerModel(**kwargs)
    chroms = demo.TRAIN_CHROMS
    x_all = {c: one_hot(seqs[c]) for c in chroms}
    y_all = demo.target_tracks({c: seqs[c] for c in chroms}, sites)
    centers = [(s.chrom, int(s.center)) for s in sites if s.chrom in chroms]
    sizes = {c: len(seqs[c]) for c in chroms}
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps)
    loss_fn = torch.nn.PoissonNLLLoss(log_input=True, full=False)
    crop_bp = CROP * POOL
    t0 = time.time()
    model.train()
    for step in range(steps):
        xs, ys = [], []
        for i in range(32):
            if i % 2 == 0:
                chrom, c = centers[rng.integers(len(centers))]
                start = c - SEQ_LEN // 2 + int(rng.integers(-400, 401))
            else:
                chrom = chroms[rng.integers(len(chroms))]
                start = int(rng.integers(0, sizes[chrom] - SEQ_LEN))
            start = min(max(start, 0), sizes[chrom] - SEQ_LEN)
            x = x_all[chrom][:, start : start + SEQ_LEN]
            y = y_all[chrom][:, start + crop_bp : start + SEQ_LEN - crop_bp]
            if rng.random() < 0.5:
                x, y = x[::-1, ::-1], y[:, ::-1]
            xs.append(x)
            ys.append(bin_targets(np.ascontiguousarray(y)))
        xb = torch.from_numpy(np.ascontiguousarray(np.stack(xs)))
        yb = torch.from_numpy(np.stack(ys))
        loss = loss_fn(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0 or step == steps - 1:
            print(f"step {step:5d}  loss {loss.item():.4f}  {time.time() - t0:.0f}s", flush=True)
    return model.eval()


def save(model, path: Path) -> None:
    from grelu_cli.zoo.checkpoint import atomic_save, build_checkpoint

    train_params = {"task": "regression", "loss": "poisson"}
    train_data = {"seq_len": SEQ_LEN, "bin_size": POOL, "chroms": list(demo.TRAIN_CHROMS)}
    ckpt = build_checkpoint(model, MODEL_PARAMS, train_params, demo.TASKS, train_data)
    ckpt["data_params"]["test"] = {"chroms": ["chr3"]}
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_save(ckpt, path, overwrite=True)


def compare(ckpt: Path) -> dict:
    """bf16 vs fp32 through the CLI over the held-out chromosome (tiled) and the demo regions:
    per-track Pearson r and max relative difference."""
    import pandas as pd

    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, inputs in (
            ("chr3_tiled", ["--chrom", "chr3", "--tile"]),
            ("demo_regions", ["--bed", str(DEMO / "regions.bed")]),
        ):
            vals = {}
            for prec in ("fp32", "bf16"):
                target = Path(tmp) / f"{label}.{prec}.parquet"
                cmd = [sys.executable, "-m", "grelu_cli", "predict", "--model", str(ckpt)]
                cmd += [*inputs, "--genome", str(DEMO / "genome.fa"), "-o", str(target)]
                cmd += ["--precision", prec, "-q"]
                subprocess.run(cmd, check=True)
                df = pd.read_parquet(target, columns=["task", "value"])
                vals[prec] = {t: g["value"].to_numpy() for t, g in df.groupby("task")}
            res = {}
            for task, a in vals["fp32"].items():
                b = vals["bf16"][task]
                res[task] = {
                    "pearson": float(np.corrcoef(a, b)[0, 1]),
                    "max_rel_diff": float(np.abs(a - b).max() / np.abs(a).max()),
                    "values": int(a.size),
                }
            out[label] = res
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--compare-only", action="store_true", help="only the bf16 vs fp32 check")
    args = ap.parse_args()
    if not args.compare_only:
        import torch

        torch.set_num_threads(args.threads)
        model = train(args.steps)
        save(model, args.out)
        print(f"wrote {args.out} ({args.out.stat().st_size / 1e3:.0f} kB)")
    print(json.dumps(compare(args.out), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
