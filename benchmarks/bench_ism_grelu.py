"""ISM throughput on every architecture gReLU has: our PlainISM and FastISM (where it serves
the model) vs gReLU 1.1.0's ``ISM_predict``, side by side in one run.

Per architecture one seeded checkpoint (``grelu models build``'s code path: gReLU's
checkpoint layout, random weights, 2 tasks) at gReLU-default sizes (small Enformer- and
Borzoi-shaped models: the full ones take minutes per window on a CPU), ``--sequences`` seeded
ACGT sequences of the model's length (gReLU has no reference row for N), ISM of the central
``--positions`` positions (``--slow-positions`` for the four slowest models), target = the mean
over output bins after the output activation (gReLU:
``prediction_transform=Aggregate(length_aggfunc="mean")``), score = subtract.

- ours, in this process: checkpoint loaded by :func:`grelu_cli.zoo.load_model`, the CPU
  inference rewrites ``grelu predict`` applies, then per sequence
  :func:`grelu_cli.ism.plain.ism_targets` (reference once, mutants in batches of
  ``--batch-size``), :func:`~grelu_cli.ism.scores.score` and
  :func:`~grelu_cli.ism.scores.delta_layout`: with :class:`~grelu_cli.ism.plain.PlainISM`
  and, where served, :class:`~grelu_cli.ism.fast.FastISM`;
- gReLU 1.1.0 in its own virtualenv (``--grelu-python``, a subprocess running
  ``bench_ism_grelu_runner.py``): ``ISM_predict`` once per sequence (with several sequences and
  a compare_func 1.1.0 subtracts the wrong reference row; a user loops over sequences), same
  checkpoint, sequences, positions, batch size and threads; ``num_workers=--grelu-workers``
  (gReLU's default, 1: its data loader makes the mutated one-hot windows in a worker process).

Rate: mutants per second over the whole ISM of all sequences (3 per position: gReLU predicts a
4th, the unmutated base, at every position; that cost is gReLU's and is counted as it runs).
Ours and gReLU's runs alternate ``--repeats`` times; the best of each is kept, every sample is
in the JSON. Before any speed is reported, deltas are checked: gReLU's (from an untimed
true-fp32 pass) vs our plain ones, and our fast ones vs our plain ones, within ``--rtol`` of
the largest reference target (the reference base: gReLU's 0, our NaN). Numbers are reported,
never asserted; ``--tiny`` shrinks every model (for tests and smoke runs).

    python benchmarks/bench_ism_grelu.py [--grelu-python /tmp/gv-ism2/bin/python]
        [--cases ConvModel,...] [--positions 200] [--slow-positions 20] [--sequences 2]
        [--batch-size 128] [--threads 1] [--repeats 2] [--json out.json] [--tiny]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent

_SMALL_TRANSFORMER = ["pos_dropout=0.0", "attn_dropout=0.0", "ff_dropout=0.0"]
#: case -> (architecture, window length, --param values, fast ISM expected to serve it)
CASES: dict[str, tuple[str, int, list[str], bool]] = {
    "ConvModel": ("ConvModel", 2048, [], True),
    "DilatedConvModel": ("DilatedConvModel", 2114, [], True),
    "ExplaiNN": ("ExplaiNNModel", 1000, [], True),
    "ConvMLPModel": ("ConvMLPModel", 2048, [], True),
    "ConvGRUModel": ("ConvGRUModel", 2048, [], True),
    "ConvTransformerModel": ("ConvTransformerModel", 2048, [], False),
    "Enformer_small": (
        "EnformerModel",
        1024,
        # Enformer's tower grows channels/2 -> channels in multiples of 128, and the relative
        # position features need channels/n_heads divisible by 6; 5 blocks: 32 bins.
        [
            "channels=768",
            "n_conv=5",
            "n_transformers=2",
            "n_heads=4",
            "key_len=16",
            *_SMALL_TRANSFORMER,
        ],
        True,
    ),
    "Borzoi_small": (
        "BorzoiModel",
        4096,
        [
            "stem_channels=32",
            "init_channels=32",
            "channels=64",
            "n_conv=5",
            "n_transformers=2",
            "key_len=16",
            "value_len=32",
            "n_heads=4",
            "crop_len=4",
            *_SMALL_TRANSFORMER,
        ],
        True,
    ),
}
#: --tiny: every case shrunk to run in seconds (same code paths).
TINY: dict[str, tuple[int, list[str]]] = {
    "ConvModel": (128, ["stem_channels=8", "channel_init=8"]),
    "DilatedConvModel": (160, ["channels=8", "n_conv=5"]),
    "ExplaiNN": (60, ["channels=5", "kernel_size=7"]),
    "ConvMLPModel": (64, ["stem_channels=6", "channel_init=6", "mlp_hidden_size=[5]"]),
    "ConvGRUModel": (64, ["stem_channels=8", "channel_init=8"]),
    "ConvTransformerModel": (64, ["stem_channels=8", "channel_init=8"]),
    "Enformer_small": (
        128,
        [
            "channels=768",
            "n_conv=3",
            "n_transformers=1",
            "n_heads=4",
            "key_len=4",
            *_SMALL_TRANSFORMER,
        ],
    ),
    "Borzoi_small": (512, CASES["Borzoi_small"][2]),
}
N_TASKS = 2
#: Cases that take ``--slow-positions`` (their plain passes take 5-200 ms per mutant at one
#: thread here, or fast ISM gains less than 2x on them); the others take ``--positions``.
SLOW = frozenset({"ConvGRUModel", "ConvTransformerModel", "Enformer_small", "Borzoi_small"})


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--grelu-python", default=None, help="Python of a venv with grelu==1.1.0")
    ap.add_argument(
        "--cases", default=",".join(CASES), help="comma-separated, of: " + ", ".join(CASES)
    )
    ap.add_argument("--positions", type=int, default=200, help="grelu ism's --ism-width default")
    ap.add_argument("--slow-positions", type=int, default=20, help="for " + ", ".join(sorted(SLOW)))
    ap.add_argument("--sequences", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--grelu-workers", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--rtol", type=float, default=1e-5)
    ap.add_argument("--tiny", action="store_true", help="shrink every model (tests, smoke runs)")
    ap.add_argument("--workdir", default=None, help="keep checkpoints and outputs here")
    ap.add_argument("--json", default=None, help="write every sample and the table here")
    args = ap.parse_args(argv)
    args.case_list = [c for c in args.cases.split(",") if c]
    unknown = [c for c in args.case_list if c not in CASES]
    if unknown or not args.case_list:
        ap.error(
            f"--cases: unknown {', '.join(unknown) or '(none given)'}; known: {', '.join(CASES)}"
        )
    for opt in ("positions", "slow_positions", "sequences", "batch_size", "threads", "repeats"):
        if getattr(args, opt) < 1:
            ap.error(f"--{opt.replace('_', '-')} must be at least 1")
    return args


def case_spec(name: str, tiny: bool) -> tuple[str, int, list[str], bool]:
    arch, length, params, fast = CASES[name]
    if tiny:
        length, params = TINY[name]
    return arch, length, params, fast


def sequences(n: int, length: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(list("ACGT"), size=length)) for _ in range(n)]


def one_hot(seq: str) -> np.ndarray:
    """(4, L) float32, channels A, C, G, T."""
    codes = np.frombuffer(seq.encode(), dtype=np.uint8)
    return (codes[None, :] == np.frombuffer(b"ACGT", dtype=np.uint8)[:, None]).astype(np.float32)


def build_cases(args: argparse.Namespace, workdir: Path) -> dict[str, dict[str, Any]]:
    """Checkpoints and sequences: name -> {ckpt, length, sequences, start, end, fast}."""
    from grelu_cli.api.models import build_model

    cases = {}
    for i, name in enumerate(args.case_list):
        arch, length, params, fast = case_spec(name, args.tiny)
        ckpt = workdir / f"{name}.ckpt"
        build_model(
            arch, ckpt, n_tasks=N_TASKS, param=params, seq_len=length, seed=i, overwrite=True
        )
        positions = min(args.slow_positions if name in SLOW else args.positions, length)
        start = (length - positions) // 2
        cases[name] = {
            "ckpt": str(ckpt),
            "arch": arch,
            "length": length,
            "sequences": sequences(args.sequences, length, seed=100 + i),
            "start": start,
            "end": start + positions,
            "fast": fast,
        }
    return cases


def ours(case: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Our whole ISM of the case's sequences, plain and (where served) fast: seconds and
    deltas ``(S, P, 4, T)`` (NaN at the reference base) and reference targets ``(S, T)``."""
    import torch

    from grelu_cli.ism.fast import FastISM, unsupported_reason
    from grelu_cli.ism.mutants import mutant_list
    from grelu_cli.ism.plain import PlainISM, ism_targets
    from grelu_cli.ism.scores import delta_layout, score
    from grelu_cli.model.inference import optimize_for_inference
    from grelu_cli.predict.transform import activate, activation_name
    from grelu_cli.zoo import load_model

    loaded = load_model(case["ckpt"], progress=False)
    model = loaded.model.eval()
    optimize_for_inference(model)
    act = activation_name(loaded.activation)

    def target(y: torch.Tensor) -> torch.Tensor:
        return activate(y, act).mean(dim=-1)

    positions = np.arange(case["start"], case["end"])
    windows = [one_hot(s) for s in case["sequences"]]
    predictors: dict[str, Any] = {"plain": PlainISM(model)}
    reason = unsupported_reason(model)
    if reason is None:
        predictors["fast"] = FastISM(model)
    out: dict[str, Any] = {"fast_refused": reason}
    for how, predictor in predictors.items():
        # Warm-up (kernel selection, the fast path's pass size): one position.
        ism_targets(predictor, windows[0], mutant_list(windows[0], positions[:1]), target)
        t0 = time.perf_counter()
        deltas, refs = [], []
        for x in windows:
            muts = mutant_list(x, positions)
            ref, mut = ism_targets(predictor, x, muts, target, batch_size=args.batch_size)
            deltas.append(delta_layout(score(mut, ref, "diff"), muts))
            refs.append(ref)
        out[f"{how}_s"] = time.perf_counter() - t0
        out[f"{how}_delta"] = np.stack(deltas)
        out[f"{how}_ref"] = np.stack(refs)
    out["mutants"] = int(np.isfinite(out["plain_delta"][..., 0]).sum())
    return out


def agreement(ours: np.ndarray, theirs: np.ndarray, scale: float) -> float:
    """Largest difference of two ``(S, P, 4, T)`` delta arrays relative to ``scale`` (the
    largest reference target). ``ours`` has NaN at the reference bases; ``theirs`` there must
    be 0 (gReLU subtracts the reference from itself) or NaN, else it counts as a difference."""
    if ours.shape != theirs.shape:
        raise ValueError(f"delta shapes differ: {ours.shape} vs {theirs.shape}")
    mut = ~np.isnan(ours)
    at_ref = np.nan_to_num(np.abs(theirs[~mut]), nan=0.0)
    diff = np.abs(ours[mut] - theirs[mut])
    if np.isnan(diff).any():
        return float("inf")
    worst = max(float(diff.max(initial=0.0)), float(at_ref.max(initial=0.0)))
    return worst / max(scale, 1e-30)


def run_grelu(
    args: argparse.Namespace, cases: dict[str, dict[str, Any]], workdir: Path, save: bool
) -> dict[str, dict[str, Any]]:
    """One gReLU subprocess over every case: case -> its JSON line (deltas in workdir)."""
    job = {
        "cases": {
            n: {k: c[k] for k in ("ckpt", "sequences", "start", "end")} for n, c in cases.items()
        },
        "batch_size": args.batch_size,
        "num_workers": args.grelu_workers,
        "threads": args.threads,
    }
    path = workdir / "grelu_job.json"
    path.write_text(json.dumps(job))
    cmd = [args.grelu_python, str(HERE / "bench_ism_grelu_runner.py"), str(path)]
    if save:
        cmd += ["--save", str(workdir)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"gReLU runner failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    lines = [json.loads(ln) for ln in proc.stdout.splitlines() if ln.startswith("{")]
    return {ln["case"]: ln for ln in lines}


def summarize(
    name: str, case: dict[str, Any], samples: dict[str, list[float]], checks: dict
) -> dict:
    """Best-of rates (mutants/s) and ratios of one case."""
    n = case["mutants"]
    row: dict[str, Any] = {"case": name, "length": case["length"], "mutants": n, **checks}
    for how in ("plain", "fast", "grelu"):
        times = samples.get(how) or []
        row[f"{how}_per_s"] = n / min(times) if times else None
    g = row["grelu_per_s"]
    best = max(r for r in (row["plain_per_s"], row["fast_per_s"]) if r is not None)
    row["best_per_s"] = best
    row["plain_vs_grelu"] = row["plain_per_s"] / g if g else None
    row["best_vs_grelu"] = best / g if g else None
    row["fast_vs_plain"] = row["fast_per_s"] / row["plain_per_s"] if row["fast_per_s"] else None
    return row


def _f(v: float | None, fmt: str) -> str:
    return "-" if v is None else format(v, fmt)


def _x(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}x"


def table(rows: list[dict[str, Any]]) -> str:
    """The result table (markdown)."""
    head = (
        "| model | bp | mutants | gReLU /s | plain /s | fast /s | plain/gReLU | best/gReLU "
        "| fast/plain | agree gReLU | agree fast |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    lines = []
    for r in rows:
        lines.append(
            f"| {r['case']} | {r['length']} | {r['mutants']} "
            f"| {'failed' if 'grelu_error' in r else _f(r['grelu_per_s'], '.1f')} "
            f"| {_f(r['plain_per_s'], '.1f')} | {_f(r['fast_per_s'], '.1f')} "
            f"| {_x(r['plain_vs_grelu'])} | {_x(r['best_vs_grelu'])} "
            f"| {_x(r['fast_vs_plain'])} | {_f(r.get('rel_err_grelu'), '.1e')} "
            f"| {_f(r.get('rel_err_fast'), '.1e')} |"
        )
    notes = [f"- {r['case']}: gReLU failed: {r['grelu_error']}" for r in rows if "grelu_error" in r]
    notes += [
        f"- {r['case']}: fast ISM refused: {r['fast_refused']}"
        for r in rows
        if r.get("fast_refused")
    ]
    return head + "\n".join(lines) + "\n" + ("\n" + "\n".join(notes) + "\n" if notes else "")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    torch.set_float32_matmul_precision("highest")
    tmp = None if args.workdir else tempfile.TemporaryDirectory()
    workdir = Path(args.workdir or tmp.name)  # type: ignore[union-attr]
    workdir.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(HERE))
    from bench_predict import machine

    host = machine()
    print(f"{host['cpu']}, {host['cores']} cores, load {host['load_avg_at_start']}", flush=True)
    cases = build_cases(args, workdir)
    samples: dict[str, dict[str, list[float]]] = {n: {} for n in cases}
    checks: dict[str, dict[str, Any]] = {n: {} for n in cases}
    for rep in range(args.repeats):
        for name, case in cases.items():
            res = ours(case, args)
            case["mutants"] = res["mutants"]
            for how in ("plain", "fast"):
                if f"{how}_s" in res:
                    samples[name].setdefault(how, []).append(res[f"{how}_s"])
            scale = float(np.abs(res["plain_ref"]).max())
            if "fast_delta" in res:
                err = agreement(res["fast_delta"], res["plain_delta"], scale)
                prev = checks[name].get("rel_err_fast", 0.0)
                checks[name]["rel_err_fast"] = max(prev, err)
            elif case["fast"]:
                checks[name]["fast_refused"] = res["fast_refused"]
            case["_plain_delta"], case["_scale"] = res["plain_delta"], scale
            print(
                f"[{rep}] ours {name}: plain {res['plain_s']:.2f} s"
                + (f", fast {res['fast_s']:.2f} s" if "fast_s" in res else ""),
                flush=True,
            )
        if args.grelu_python:
            theirs = run_grelu(args, cases, workdir, save=rep == 0)
            for name, line in theirs.items():
                if "error" in line:
                    checks[name]["grelu_error"] = line["error"]
                    print(f"[{rep}] gReLU {name}: {line['error']}", flush=True)
                    continue
                samples[name].setdefault("grelu", []).append(line["ism_s"])
                print(f"[{rep}] gReLU {name}: {line['ism_s']:.2f} s", flush=True)
                if rep == 0:
                    g = np.load(workdir / f"{name}.npy")
                    checks[name]["rel_err_grelu"] = agreement(
                        cases[name]["_plain_delta"], g, cases[name]["_scale"]
                    )
                checks[name]["grelu_matmul_precision"] = line["matmul_precision"]
    rows = [summarize(n, cases[n], samples[n], checks[n]) for n in cases]
    bad = [
        r["case"]
        for r in rows
        if not all(r.get(k, 0.0) <= args.rtol for k in ("rel_err_grelu", "rel_err_fast"))
    ]
    text = table(rows)
    print(text)
    if bad:
        print(f"DISAGREE (> {args.rtol:g} relative): {', '.join(bad)}: speeds not comparable")
    if args.json:
        host["load_avg_at_end"] = os.getloadavg()
        meta = {"machine": host, "args": dict(vars(args)), "samples": samples}
        Path(args.json).write_text(json.dumps({**meta, "rows": rows, "table": text}, indent=1))
    if tmp is not None:
        tmp.cleanup()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
