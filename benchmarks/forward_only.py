"""The floor: our predictor alone in a tight loop on pre-encoded batches (no reading, encoding
or writing). Run by ``bench_predict.py`` in its own process; prints one JSON line.

The model, options and batch size are exactly those ``grelu predict`` uses for the same flags,
so ``end-to-end / forward-only`` is the share of the forward pass that the pipeline keeps.

    python forward_only.py --ckpt model.ckpt --bed regions.bed --genome genome.fa \
        --regions 2000 [--precision bf16] [--batch-size 64] [--threads 2] \
        [--warmup 1] [--save preds.npy] [--profile profile.txt]

For full-size models (one window per batch, ~45 s each for Borzoi on 2 cores) use
``--warmup 0``: the first window then includes oneDNN's kernel selection (well under 1 s).
``--save`` writes the first pass over the distinct batches, (windows, tasks, bins) float32, for
agreement checks; ``--profile`` runs torch.profiler over the timed loop and writes its table
of operators by self CPU time (the timed numbers then include the profiler's overhead).
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--bed", required=True)
    ap.add_argument("--genome", required=True)
    ap.add_argument("--regions", type=int, required=True, help="regions to run (cycled)")
    ap.add_argument("--precision", default="fp32")
    ap.add_argument("--batch-size", default="auto")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--warmup", type=int, default=1, help="untimed batches first")
    ap.add_argument("--save", default=None, help="write predictions of the distinct batches")
    ap.add_argument("--profile", default=None, help="write a torch.profiler table here")
    args = ap.parse_args()

    from grelu_cli.genome.inputs import prepare_input
    from grelu_cli.predict.loader import make_loader
    from grelu_cli.predict.loop import PredictOptions, Predictor
    from grelu_cli.zoo import load_model

    t_load = time.perf_counter()
    loaded = load_model(args.ckpt, progress=False)
    opts = PredictOptions(
        device=args.device,
        precision=args.precision,
        batch_size=args.batch_size,
        threads=args.threads,
        # As the plain (unchunked) CLI path: its writer runs on a background thread, so
        # freed memory is kept for the next batch (grelu_cli/run/build.py).
        keep_memory=True,
        **({"compile": True} if args.compile else {}),
    )
    pred = Predictor(
        loaded.model,
        seq_len=loaded.seq_len,
        options=opts,
        activation=loaded.activation,
        tasks=loaded.tasks,
        geometry=loaded.geometry,
    )
    load_s = time.perf_counter() - t_load  # checkpoint, rewrites, warm-up of the predictor
    inp = prepare_input(
        bed=args.bed, genome=args.genome, seq_len=loaded.seq_len, geometry=loaded.geometry
    )
    cuda = pred.device.type == "cuda"
    loader = make_loader(
        inp.plan,
        inp.sequences,
        batch_size=pred.sizer.size,
        dtype="uint8" if cuda else "float32",
        pin_memory=cuda,
        channels_last=not cuda,  # as the CLI
    )
    # A few distinct batches, cycled: inputs are ready in memory before timing starts.
    batches = list(itertools.islice(iter(loader), 4))
    # Cycle them until at least --regions windows are done (a batch can hold fewer windows
    # than the batch size when the input is small).
    per_cycle = sum(len(w) for _, w in batches)
    n_batches = max(1, -(-args.regions * len(batches) // per_cycle))
    for _ in pred.predict(batches[: args.warmup]):  # warm-up (kernel selection, allocator)
        pass
    prof = None
    if args.profile:
        from torch.profiler import ProfilerActivity, profile

        prof = profile(activities=[ProfilerActivity.CPU]).__enter__()
    saved = []
    batch_s: list[float] = []
    t0 = time.perf_counter()
    c0 = time.process_time()
    n = 0
    tb = t0
    for i, (values, windows) in enumerate(
        pred.predict(itertools.islice(itertools.cycle(batches), n_batches))
    ):
        n += len(windows)
        now = time.perf_counter()
        batch_s.append(now - tb)
        tb = now
        if args.save and i < len(batches):
            saved.append(values.copy())
    if cuda:
        import torch

        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    cpu = time.process_time() - c0
    if prof is not None:
        prof.__exit__(None, None, None)
        table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=40)
        with open(args.profile, "w") as fh:
            fh.write(table)
    if args.save:
        import numpy as np

        np.save(args.save, np.concatenate(saved).astype(np.float32))
    out = {
        "regions": n,
        "seconds": dt,
        "regions_per_s": n / dt,
        "cpu_s": cpu,
        "regions_per_cpu_s": n / cpu,
        "batch_size": pred.sizer.size,
        "load_s": load_s,
        "batch_s": batch_s,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if cuda:
        import torch

        out["gpu_peak_mb"] = torch.cuda.max_memory_allocated() / 2**20
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
