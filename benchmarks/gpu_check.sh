#!/usr/bin/env bash
# GPU readiness check for grelu-cli: one script, one GPU, under 8 minutes.
#
#   bash benchmarks/gpu_check.sh [--dry-run] [--workdir DIR] [--python PY]
#
# Measures, on full-size Borzoi (524,288 bp, 7,611 tracks, 6,144 bins) and Enformer (196,608
# bp, 5,313 tracks, 896 bins) with random weights:
#   1. forward-only windows/s at fp32 and bf16 (benchmarks/forward_only.py, batch 8, warm);
#   2. --batch-size auto with a forced OOM back-off: 128 Borzoi windows at a fixed
#      --batch-size 128 must fail with exit 5 (out of memory), and the same run with
#      --batch-size auto must finish (it halves the batch on OOM until one fits);
#   3. GPU busy share during an end-to-end `grelu predict` run (bf16, 32 Borzoi windows),
#      sampled every 100 ms with nvidia-smi: mean over the whole run and over the prediction
#      loop (from the first busy sample to the last);
#   4. --devices with two workers: cuda:0,cuda:1 on full Borzoi when two GPUs are visible,
#      else cuda:0,cpu on a reduced Borzoi (8 kb), so the multi-worker path runs either way;
#   5. `grelu ism` on --device cuda, mutants/s from its JSON summary: plain ISM on the reduced
#      Borzoi (8 kb; 8 regions x 20 positions x 3 bases) and fast ISM on a ConvModel (8 kb,
#      64 tracks; 8 regions x 200 positions x 3 bases).
# Steps 3 and 4 write the dense output (`-o X.zarr`) when this build of the CLI has it (the
# zarr writer is another change); otherwise parquet with `--aggregate mean` (one value per
# window and track, so that writing 7,611 x 6,144 values per window as long parquet, about 24
# CPU-s each, does not stand in for the model), and the summary says so.
#
# Goals (issue 13): Borzoi bf16 >= 2x fp32 windows/s; GPU busy >= 90% end to end.
# Without CUDA it stops at once with an error (exit 4); --dry-run prints every command
# without running anything (no GPU needed). Every step runs under `timeout`.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY="${PYTHON:-python}"
DRY=0
WORK=""
STEP_TIMEOUT=240
while [[ $# -gt 0 ]]; do
    case "$1" in
        --dry-run) DRY=1 ;;
        --workdir) WORK="$2"; shift ;;
        --python) PY="$2"; shift ;;
        -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
        *) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
WORK="${WORK:-$(mktemp -d /tmp/grelu-gpu-check.XXXXXX)}"
mkdir -p "$WORK"
RESULTS="$WORK/results.jsonl"
: > "$RESULTS"

exec 3>&2  # the console, for the command echo even where a step's stderr goes to a log
say() { echo "[gpu_check] $*" >&3; }
run() {  # run CMD... under the step timeout; in --dry-run only print it
    echo "+ $*" >&3
    if [[ $DRY == 1 ]]; then return 0; fi
    timeout "$STEP_TIMEOUT" "$@"
}
record() {  # record KEY JSON
    echo "{\"step\": \"$1\", \"result\": $2}" >> "$RESULTS"
}

# --- 0. CUDA present? ------------------------------------------------------------------------
if [[ $DRY == 0 ]]; then
    if ! command -v nvidia-smi > /dev/null; then
        echo "error: nvidia-smi not found: this check needs a CUDA GPU (run it on a GPU node)" >&2
        exit 4
    fi
    if ! timeout 120 "$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then
        echo "error: torch sees no CUDA device (CUDA_VISIBLE_DEVICES='${CUDA_VISIBLE_DEVICES-}'; \
install a CUDA build of torch 2.13.0 and run on a GPU node)" >&2
        exit 4
    fi
    N_GPUS="$("$PY" -c "import torch; print(torch.cuda.device_count())")"
    nvidia-smi --query-gpu=name,memory.total --format=csv,noheader >&2
else
    N_GPUS=1
fi
say "workdir $WORK, $N_GPUS GPU(s)"

GRELU=("$PY" -m grelu_cli)
DENSE=0
if [[ $DRY == 1 ]] || "${GRELU[@]}" predict --help 2>/dev/null | grep -q zarr; then
    DENSE=1
fi
if [[ $DENSE == 1 ]]; then
    OUT_EXT="zarr"; OUT_ARGS=()
else
    OUT_EXT="parquet"; OUT_ARGS=(--aggregate mean)
    say "no zarr output in this CLI: end-to-end steps write parquet with --aggregate mean"
fi

# --- inputs: genome, BEDs, checkpoints (seeded) ----------------------------------------------
run "$PY" - "$WORK" "$HERE" <<'EOF'
import sys
from pathlib import Path
work, here = Path(sys.argv[1]), sys.argv[2]
sys.path.insert(0, here)
from synth import write_bed, write_genome
sizes = {"chr1": 8_000_000, "chr2": 8_000_000}
write_genome(work / "genome.fa", sizes, seed=0)
for name, length, n in (("borzoi", 524_288, 128), ("enformer", 196_608, 32), ("small", 8_192, 64)):
    write_bed(work / f"{name}.bed", sizes, n, length, seed=1)
EOF
build() {  # build NAME ARCH SEQ_LEN TRACKS PARAM...
    local name="$1" arch="$2" seq_len="$3" tracks="$4"
    shift 4
    local params=()
    for p in "$@"; do params+=(--param "$p"); done
    run "${GRELU[@]}" models build "$arch" --n-tasks "$tracks" --seq-len "$seq_len" \
        "${params[@]}" --seed 0 --overwrite -o "$WORK/$name.ckpt" > /dev/null
}
build borzoi BorzoiModel 524288 7611 crop_len=5120 final_pool_func=null
build enformer EnformerModel 196608 5313 crop_len=320 final_pool_func=null
build small BorzoiModel 8192 64 stem_channels=64 init_channels=96 channels=192 n_conv=5 \
    n_transformers=2 n_heads=4 key_len=32 value_len=48 n_pos_features=16 crop_len=16 \
    final_pool_func=null
build conv ConvModel 8192 64 final_pool_func=null

# --- 1. forward-only windows/s ---------------------------------------------------------------
for model in borzoi enformer; do
    for prec in fp32 bf16; do
        say "forward only: $model $prec"
        out="$WORK/fwd_${model}_${prec}.json"
        run "$PY" "$HERE/forward_only.py" --ckpt "$WORK/$model.ckpt" --bed "$WORK/$model.bed" \
            --genome "$WORK/genome.fa" --regions 32 --batch-size 8 --device cuda \
            --precision "$prec" > "$out"
        [[ $DRY == 1 ]] || record "fwd_${model}_${prec}" "$(tail -n 1 "$out")"
    done
done

predict() {  # predict LABEL ARGS...: grelu predict with JSON logs; records rc, seconds, RSS
    local label="$1"
    shift
    local t0 t1 rc=0
    t0=$(date +%s%N)
    run "${GRELU[@]}" predict --genome "$WORK/genome.fa" --overwrite --log-format json "$@" \
        2> "$WORK/$label.log" || rc=$?
    t1=$(date +%s%N)
    [[ $DRY == 1 ]] || record "$label" "{\"rc\": $rc, \"wall_s\": $(((t1 - t0) / 1000000)).0e-3}"
    return 0
}

# --- 2. --batch-size auto with a forced OOM back-off -----------------------------------------
# 128 full Borzoi windows in one batch need far more than one GPU's memory in fp32.
say "OOM back-off: fixed --batch-size 128 (expect exit 5), then auto"
predict oom_fixed --model "$WORK/borzoi.ckpt" --bed "$WORK/borzoi.bed" --batch-size 128 \
    --aggregate mean -o "$WORK/oom_fixed.parquet"
predict oom_auto --model "$WORK/borzoi.ckpt" --bed "$WORK/borzoi.bed" --batch-size auto \
    --aggregate mean -o "$WORK/oom_auto.parquet"

# --- 3. GPU busy share end to end ------------------------------------------------------------
[[ $DRY == 1 ]] || head -n 32 "$WORK/borzoi.bed" > "$WORK/borzoi32.bed"
say "GPU busy: grelu predict bf16, 32 Borzoi windows -> $OUT_EXT"
SAMPLER=""
if [[ $DRY == 0 ]]; then
    nvidia-smi --query-gpu=utilization.gpu --format=csv,noheader,nounits -i 0 -lms 100 \
        > "$WORK/busy.txt" &
    SAMPLER=$!
fi
predict busy --model "$WORK/borzoi.ckpt" --bed "$WORK/borzoi32.bed" --precision bf16 \
    --batch-size auto "${OUT_ARGS[@]}" -o "$WORK/busy.$OUT_EXT"
if [[ -n $SAMPLER ]]; then
    kill "$SAMPLER" 2> /dev/null || true
    wait "$SAMPLER" 2> /dev/null || true
    record busy_share "$("$PY" - "$WORK/busy.txt" <<'EOF'
import json, sys
vals = [float(v) for v in open(sys.argv[1]).read().split() if v.replace(".", "").isdigit()]
busy = [i for i, v in enumerate(vals) if v > 0]
loop = vals[busy[0] : busy[-1] + 1] if busy else []
mean = lambda xs: sum(xs) / len(xs) if xs else 0.0
print(json.dumps({"samples": len(vals), "whole_run_pct": mean(vals), "loop_pct": mean(loop)}))
EOF
)"
fi

# --- 4. --devices with two workers -----------------------------------------------------------
if [[ $N_GPUS -ge 2 ]]; then
    say "--devices cuda:0,cuda:1: full Borzoi, 32 windows -> $OUT_EXT"
    predict devices --model "$WORK/borzoi.ckpt" --bed "$WORK/borzoi32.bed" --precision bf16 \
        --devices cuda:0,cuda:1 "${OUT_ARGS[@]}" -o "$WORK/devices.$OUT_EXT"
else
    say "--devices cuda:0,cpu (one GPU visible): reduced Borzoi 8 kb, 64 windows -> $OUT_EXT"
    predict devices --model "$WORK/small.ckpt" --bed "$WORK/small.bed" \
        --devices cuda:0,cpu "${OUT_ARGS[@]}" -o "$WORK/devices.$OUT_EXT"
fi

# --- 5. grelu ism on the GPU: mutants/s ------------------------------------------------------
[[ $DRY == 1 ]] || head -n 8 "$WORK/small.bed" > "$WORK/small8.bed"
ism() {  # ism LABEL ARGS...: grelu ism with JSON logs; records rc, seconds, mutants/s
    local label="$1"
    shift
    local t0 t1 rc=0
    t0=$(date +%s%N)
    run "${GRELU[@]}" ism --genome "$WORK/genome.fa" --bed "$WORK/small8.bed" --device cuda \
        --overwrite --log-format json "$@" 2> "$WORK/$label.log" || rc=$?
    t1=$(date +%s%N)
    if [[ $DRY == 0 ]]; then
        local per_s
        per_s="$("$PY" -c 'import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
s = [e for e in ev if e.get("event") == "summary"]
print(json.dumps({k: s[-1].get(k) for k in ("mutants", "mutants_per_s", "method")} if s else {}))' \
            "$WORK/$label.log")"
        record "$label" "{\"rc\": $rc, \"wall_s\": $(((t1 - t0) / 1000000)).0e-3, \"ism\": $per_s}"
    fi
    return 0
}
say "grelu ism: plain ISM, reduced Borzoi 8 kb, 8 regions x 20 positions"
ism ism_plain --model "$WORK/small.ckpt" --ism-width 20 -o "$WORK/ism_plain.zarr"
say "grelu ism: fast ISM, ConvModel 8 kb, 8 regions x 200 positions"
ism ism_fast --model "$WORK/conv.ckpt" --ism-width 200 -o "$WORK/ism_fast.zarr"

# --- summary ---------------------------------------------------------------------------------
if [[ $DRY == 1 ]]; then
    say "dry run: nothing was run"
    exit 0
fi
"$PY" - "$RESULTS" "$DENSE" <<'EOF'
import json, sys
res = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    res[r["step"]] = r["result"]
dense = sys.argv[2] == "1"
print("\n== gpu_check results ==")
for model in ("borzoi", "enformer"):
    f, b = res.get(f"fwd_{model}_fp32", {}), res.get(f"fwd_{model}_bf16", {})
    if f and b:
        ratio = b["regions_per_s"] / f["regions_per_s"]
        print(f"{model}: fp32 {f['regions_per_s']:.2f} windows/s, bf16 {b['regions_per_s']:.2f} "
              f"windows/s, bf16/fp32 {ratio:.2f}x (goal >= 2x for borzoi); GPU peak "
              f"{f.get('gpu_peak_mb', 0):.0f} / {b.get('gpu_peak_mb', 0):.0f} MB")
fixed, auto = res.get("oom_fixed", {}), res.get("oom_auto", {})
ok = fixed.get("rc") == 5 and auto.get("rc") == 0
print(f"OOM back-off: --batch-size 128 rc {fixed.get('rc')} (want 5), auto rc {auto.get('rc')} "
      f"(want 0) in {auto.get('wall_s', 0):.1f} s: {'ok' if ok else 'NOT OK'}")
busy = res.get("busy_share", {})
print(f"GPU busy end to end (bf16, 32 windows, {'zarr' if dense else 'parquet --aggregate mean'}): "
      f"{busy.get('loop_pct', 0):.0f}% over the loop, {busy.get('whole_run_pct', 0):.0f}% over "
      f"the whole run incl. start-up (goal >= 90%); run rc {res.get('busy', {}).get('rc')}")
dev = res.get("devices", {})
print(f"--devices two workers: rc {dev.get('rc')} in {dev.get('wall_s', 0):.1f} s")
for label in ("ism_plain", "ism_fast"):
    r = res.get(label, {})
    i = r.get("ism") or {}
    print(f"grelu ism ({label[4:]}): rc {r.get('rc')}, {i.get('mutants')} mutants, "
          f"{i.get('mutants_per_s')} mutants/s ({i.get('method')} ISM) in {r.get('wall_s', 0):.1f} s")
EOF
say "all outputs and logs: $WORK"
