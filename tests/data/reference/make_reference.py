"""Generate the gReLU 1.1.0 reference fixtures under tests/data/reference/ (the project's oracle).

Run ONLY in a scratch virtualenv that has gReLU installed; it is never a project dependency:

    python -m venv /tmp/ref-venv
    /tmp/ref-venv/bin/pip install torch==2.13.0 grelu==1.1.0 \
        --extra-index-url https://download.pytorch.org/whl/cpu
    /tmp/ref-venv/bin/python tests/data/reference/make_reference.py [STEP]

STEP: all (default) | models | layout | checkpoints | inputs | predictions.

Everything is deterministic: weights come from `synth_tensor` (an integer hash of the state_dict
key, no RNG), inputs from seeded torch generators. Re-running rewrites identical values (up to
libm differences in the last float32 bit of a few transcendental results). See README.md here
for every file's format.
"""

from __future__ import annotations

import json
import sys
import types
import zlib
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
MODELS_DIR = HERE / "models"

# State dicts larger than this many float32 elements are not stored; the test rebuilds them
# with synth_state_dict from the recorded key names and shapes (keeps each file < 1 MB).
MAX_STORED_ELEMENTS = 120_000


# --------------------------------------------------------------------------------------------
# Deterministic "random" weights: an integer hash, identical on every machine and torch version.
# --------------------------------------------------------------------------------------------
def _hash_uniform(key: str, n: int) -> torch.Tensor:
    """n values in [0, 1) from a 32-bit integer hash of (crc32(key), index); float64."""
    h = zlib.crc32(key.encode("utf-8"))
    mask = 0xFFFFFFFF
    x = (torch.arange(n, dtype=torch.int64) + h * 0x9E3779B1) & mask
    x = (((x >> 16) ^ x) * 0x45D9F3B) & mask
    x = (((x >> 16) ^ x) * 0x45D9F3B) & mask
    x = (x >> 16) ^ x
    return x.to(torch.float64) / 4294967296.0


def synth_tensor(key: str, shape: list[int], dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The fixture value of one state_dict entry, from its key and shape only.

    - `*num_batches_tracked` (int64): 0.
    - `*running_var`: 0.5 + u                  (u uniform in [0, 1))
    - `*running_mean`: 0.4 * (u - 0.5)
    - 1-D `*weight` (norm scales): 1 + 0.4 * (u - 0.5)
    - other 1-D tensors (biases): 0.2 * (u - 0.5)
    - tensors with >= 2 dims: (2u - 1) * sqrt(3 / fan_in), fan_in = prod(shape[1:])
      (variance 1 / fan_in, so activations keep their scale through deep towers)
    """
    if key.endswith("num_batches_tracked"):
        return torch.zeros(shape, dtype=torch.int64)
    n = 1
    for s in shape:
        n *= s
    u = _hash_uniform(key, n)
    if key.endswith("running_var"):
        v = 0.5 + u
    elif key.endswith("running_mean"):
        v = 0.4 * (u - 0.5)
    elif len(shape) <= 1 and key.endswith("weight"):
        v = 1.0 + 0.4 * (u - 0.5)
    elif len(shape) <= 1:
        v = 0.2 * (u - 0.5)
    else:
        fan_in = n // shape[0]
        v = (2.0 * u - 1.0) * (3.0 / fan_in) ** 0.5
    return v.reshape(shape).to(dtype)


def synth_state_dict(shapes: dict[str, list[int]]) -> dict[str, torch.Tensor]:
    """Fixture state_dict for ordered {key: shape}."""
    return {k: synth_tensor(k, s) for k, s in shapes.items()}


def one_hot_input(n: int, length: int, seed: int) -> torch.Tensor:
    """(n, 4, length) float32 one-hot DNA with ~5% all-zero (N) columns, seeded."""
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, 4, (n, length), generator=g)
    x = torch.nn.functional.one_hot(idx, 4).permute(0, 2, 1).to(torch.float32)
    is_n = torch.rand((n, length), generator=g) < 0.05
    return (x * (~is_n).unsqueeze(1).to(torch.float32)).contiguous()


# --------------------------------------------------------------------------------------------
# flash_attn stub: plain-torch math of the two flash_attn objects gReLU's FlashAttention uses.
# --------------------------------------------------------------------------------------------
def install_flash_attn_stub() -> None:
    """Put a fake `flash_attn` package in sys.modules (CPU, float32, no dropout).

    gReLU 1.1.0 `grelu.model.layers.FlashAttention` imports
    `flash_attn.flash_attn_qkvpacked_func` and `flash_attn.layers.rotary.RotaryEmbedding`,
    builds `RotaryEmbedding(head_dim, device=device)` and calls
    `rotary(qkv)` on qkv (b, l, 3, h, d) then `flash_attn_qkvpacked_func(qkv, dropout_p,
    window_size=(-1, -1))` -> (b, l, h, d). The stub mirrors flash-attn 2's defaults:
    rotary base 10000, non-interleaved (GPT-NeoX halves), rotary_dim = head_dim, applied to q
    and k only, positions 0..l-1, inv_freq a non-persistent buffer (no state_dict key);
    attention softmax_scale = 1/sqrt(d), non-causal, full window.
    """
    if "flash_attn" in sys.modules:
        return

    class RotaryEmbedding(torch.nn.Module):
        def __init__(self, dim, base=10000.0, interleaved=False, scale_base=None, device=None):
            super().__init__()
            assert not interleaved and scale_base is None
            self.dim = dim
            inv_freq = 1.0 / (
                float(base) ** (torch.arange(0, dim, 2, device=device, dtype=torch.float32) / dim)
            )
            self.register_buffer("inv_freq", inv_freq, persistent=False)

        def forward(self, qkv):
            seqlen = qkv.shape[1]
            t = torch.arange(seqlen, device=qkv.device, dtype=torch.float32)
            freqs = torch.outer(t, self.inv_freq.float())
            cos = torch.cos(freqs).to(qkv.dtype)[None, :, None, :]  # (1, l, 1, d/2)
            sin = torch.sin(freqs).to(qkv.dtype)[None, :, None, :]
            cos = torch.cat([cos, cos], dim=-1)
            sin = torch.cat([sin, sin], dim=-1)

            def rot(x):
                x1, x2 = x.chunk(2, dim=-1)
                return x * cos + torch.cat([-x2, x1], dim=-1) * sin

            q, k, v = qkv.unbind(dim=2)
            return torch.stack([rot(q), rot(k), v], dim=2)

    def flash_attn_qkvpacked_func(
        qkv, dropout_p=0.0, softmax_scale=None, causal=False, window_size=(-1, -1), **kwargs
    ):
        assert dropout_p == 0.0, "stub: goldens use attn_dropout=0 (flash_attn drops in eval)"
        assert not causal and tuple(window_size) == (-1, -1)
        q, k, v = qkv.unbind(dim=2)  # (b, l, h, d)
        scale = softmax_scale if softmax_scale is not None else q.shape[-1] ** -0.5
        scores = torch.einsum("bihd,bjhd->bhij", q, k) * scale
        attn = scores.softmax(dim=-1)
        return torch.einsum("bhij,bjhd->bihd", attn, v)

    import importlib.machinery

    pkg = types.ModuleType("flash_attn")
    pkg.flash_attn_qkvpacked_func = flash_attn_qkvpacked_func
    layers = types.ModuleType("flash_attn.layers")
    rotary = types.ModuleType("flash_attn.layers.rotary")
    rotary.RotaryEmbedding = RotaryEmbedding
    pkg.layers = layers
    layers.rotary = rotary
    for mod in (pkg, layers, rotary):
        # a spec keeps importlib.util.find_spec (used by transformers' probes) from raising
        mod.__spec__ = importlib.machinery.ModuleSpec(mod.__name__, None)
        sys.modules[mod.__name__] = mod


# --------------------------------------------------------------------------------------------
# Model goldens (issue 2)
# --------------------------------------------------------------------------------------------
# (case id, class name, kwargs, input length). Tiny configs that exercise every option.
MODEL_CASES: list[tuple[str, str, dict, int]] = [
    # ConvModel
    (
        "conv_plain",
        "ConvModel",
        dict(
            n_tasks=3,
            stem_channels=8,
            stem_kernel_size=5,
            n_conv=2,
            channel_init=8,
            kernel_size=3,
            final_pool_func=None,
        ),
        40,
    ),
    (
        "conv_norm_res_maxpool_gelu_crop",
        "ConvModel",
        dict(
            n_tasks=2,
            stem_channels=8,
            stem_kernel_size=7,
            n_conv=3,
            channel_init=8,
            channel_mult=1.5,
            kernel_size=3,
            dilation_init=1,
            dilation_mult=2,
            act_func="gelu",
            norm=True,
            pool_func="max",
            pool_size=2,
            residual=True,
            dropout=0.1,
            crop_len=2,
            final_pool_func=None,
        ),
        64,
    ),
    (
        "conv_avgpool_elu_finalavg",
        "ConvModel",
        dict(
            n_tasks=4,
            stem_channels=6,
            stem_kernel_size=5,
            n_conv=2,
            channel_init=10,
            kernel_size=5,
            act_func="elu",
            norm=True,
            pool_func="avg",
            pool_size=3,
            residual=False,
            final_pool_func="avg",
        ),
        54,
    ),
    (
        "conv_attnpool_softplus_finalmax",
        "ConvModel",
        dict(
            n_tasks=2,
            stem_channels=8,
            stem_kernel_size=5,
            n_conv=2,
            channel_init=8,
            kernel_size=3,
            act_func="softplus",
            pool_func="attn",
            pool_size=2,
            residual=True,
            final_pool_func="max",
        ),
        32,
    ),
    (
        "conv_gelu_enformer_res",
        "ConvModel",
        dict(
            n_tasks=2,
            stem_channels=8,
            stem_kernel_size=5,
            n_conv=2,
            channel_init=8,
            kernel_size=3,
            act_func="gelu_enformer",
            residual=True,
            norm=True,
            crop_len=1,
            final_pool_func=None,
        ),
        30,
    ),
    (
        "conv_gelu_borzoi_dilated",
        "ConvModel",
        dict(
            n_tasks=3,
            stem_channels=8,
            stem_kernel_size=5,
            n_conv=3,
            channel_init=8,
            kernel_size=3,
            dilation_init=2,
            dilation_mult=2,
            act_func="gelu_borzoi",
            residual=True,
            final_pool_func=None,
        ),
        48,
    ),
    (
        "conv_exp",
        "ConvModel",
        dict(
            n_tasks=1,
            stem_channels=4,
            stem_kernel_size=5,
            n_conv=1,
            channel_init=4,
            kernel_size=3,
            act_func="exp",
            final_pool_func="avg",
        ),
        24,
    ),
    # DilatedConvModel
    (
        "dilated_auto_crop",
        "DilatedConvModel",
        dict(
            n_tasks=2, channels=8, stem_kernel_size=5, kernel_size=3, n_conv=3, final_pool_func=None
        ),
        80,
    ),
    (
        "dilated_int_crop_gelu",
        "DilatedConvModel",
        dict(
            n_tasks=3,
            channels=8,
            stem_kernel_size=7,
            kernel_size=3,
            dilation_mult=1.5,
            act_func="gelu",
            n_conv=4,
            crop_len=4,
            final_pool_func=None,
        ),
        64,
    ),
    (
        "dilated_finalavg",
        "DilatedConvModel",
        dict(
            n_tasks=2,
            channels=6,
            stem_kernel_size=5,
            kernel_size=3,
            n_conv=2,
            crop_len=0,
            final_pool_func="avg",
        ),
        40,
    ),
    # ConvGRUModel
    (
        "gru_plain",
        "ConvGRUModel",
        dict(
            n_tasks=2,
            stem_channels=8,
            stem_kernel_size=5,
            n_conv=2,
            channel_init=8,
            kernel_size=3,
            final_pool_func=None,
        ),
        24,
    ),
    (
        "gru_2layer_norm_pool_crop",
        "ConvGRUModel",
        dict(
            n_tasks=3,
            stem_channels=8,
            stem_kernel_size=5,
            n_conv=2,
            channel_init=8,
            kernel_size=3,
            act_func="gelu",
            conv_norm=True,
            pool_func="max",
            pool_size=2,
            residual=True,
            crop_len=1,
            n_gru=2,
            dropout=0.1,
            gru_norm=True,
            final_pool_func=None,
        ),
        32,
    ),
    (
        "gru_finalavg",
        "ConvGRUModel",
        dict(
            n_tasks=2,
            stem_channels=6,
            stem_kernel_size=3,
            n_conv=1,
            channel_init=6,
            kernel_size=3,
            final_pool_func="avg",
        ),
        20,
    ),
    # ConvTransformerModel
    (
        "transformer_plain",
        "ConvTransformerModel",
        dict(
            n_tasks=2,
            stem_channels=8,
            stem_kernel_size=5,
            n_conv=2,
            channel_init=8,
            kernel_size=3,
            final_pool_func=None,
        ),
        24,
    ),
    (
        "transformer_2x2heads_norm_pool_crop",
        "ConvTransformerModel",
        dict(
            n_tasks=3,
            stem_channels=8,
            stem_kernel_size=5,
            n_conv=2,
            channel_init=8,
            kernel_size=3,
            act_func="gelu",
            norm=True,
            pool_func="avg",
            pool_size=2,
            residual=True,
            crop_len=1,
            n_transformers=2,
            key_len=4,
            value_len=6,
            n_heads=2,
            n_pos_features=6,
            pos_dropout=0.1,
            attn_dropout=0.1,
            ff_dropout=0.1,
            final_pool_func=None,
        ),
        32,
    ),
    (
        "transformer_finalmax",
        "ConvTransformerModel",
        dict(
            n_tasks=2,
            stem_channels=8,
            stem_kernel_size=5,
            n_conv=1,
            channel_init=8,
            kernel_size=3,
            n_transformers=1,
            key_len=8,
            value_len=4,
            n_heads=3,
            n_pos_features=12,
            final_pool_func="max",
        ),
        26,
    ),
    # ConvMLPModel
    (
        "mlp_plain",
        "ConvMLPModel",
        dict(
            seq_len=32,
            n_tasks=3,
            stem_channels=8,
            stem_kernel_size=5,
            n_conv=2,
            channel_init=8,
            kernel_size=3,
        ),
        32,
    ),
    (
        "mlp_norm_pool_2hidden",
        "ConvMLPModel",
        dict(
            seq_len=40,
            n_tasks=2,
            stem_channels=8,
            stem_kernel_size=5,
            n_conv=2,
            channel_init=8,
            kernel_size=3,
            act_func="elu",
            conv_norm=True,
            pool_func="max",
            pool_size=2,
            residual=False,
            mlp_norm=True,
            mlp_act_func="gelu",
            mlp_hidden_size=[8, 6],
            dropout=0.1,
        ),
        40,
    ),
    (
        "mlp_no_hidden",
        "ConvMLPModel",
        dict(
            seq_len=24,
            n_tasks=2,
            stem_channels=4,
            stem_kernel_size=5,
            n_conv=1,
            channel_init=4,
            kernel_size=3,
            mlp_act_func=None,
            mlp_hidden_size=[],
        ),
        24,
    ),
    # BorzoiModel
    (
        "borzoi_tiny",
        "BorzoiModel",
        dict(
            n_tasks=3,
            stem_channels=16,
            stem_kernel_size=5,
            init_channels=32,
            channels=32,
            n_conv=3,
            kernel_size=3,
            n_transformers=1,
            key_len=4,
            value_len=8,
            n_heads=2,
            n_pos_features=8,
            crop_len=2,
            final_pool_func=None,
        ),
        128,
    ),
    (
        "borzoi_4conv_2tf_gelu_softplus_avg",
        "BorzoiModel",
        dict(
            n_tasks=2,
            stem_channels=16,
            stem_kernel_size=7,
            init_channels=32,
            channels=64,
            n_conv=4,
            kernel_size=5,
            n_transformers=2,
            key_len=8,
            value_len=8,
            n_heads=2,
            n_pos_features=12,
            crop_len=0,
            act_func="gelu",
            final_act_func="softplus",
            final_pool_func="avg",
            norm_kwargs={"eps": 1e-5},
        ),
        128,
    ),
    (
        "borzoi_flash",
        "BorzoiModel",
        dict(
            n_tasks=3,
            stem_channels=16,
            stem_kernel_size=5,
            init_channels=32,
            channels=32,
            n_conv=3,
            kernel_size=3,
            n_transformers=2,
            n_heads=2,
            attn_dropout=0.0,
            crop_len=1,
            flash_attn=True,
            final_pool_func=None,
        ),
        128,
    ),
    # EnformerModel: conv tower rounds channels to multiples of 128 and the attention needs
    # (channels // n_heads) % 6 == 0, so 384 is the smallest; state dicts too big to store.
    (
        "enformer_small",
        "EnformerModel",
        dict(
            n_tasks=3,
            n_conv=3,
            channels=384,
            n_transformers=1,
            n_heads=2,
            key_len=8,
            crop_len=2,
            final_pool_func=None,
        ),
        64,
    ),
    (
        "enformer_2tf_softplus_avg",
        "EnformerModel",
        dict(
            n_tasks=2,
            n_conv=3,
            channels=384,
            n_transformers=2,
            n_heads=4,
            key_len=4,
            crop_len=0,
            final_act_func="softplus",
            final_pool_func="avg",
        ),
        48,
    ),
]


def _shapes(model: torch.nn.Module) -> dict[str, list[int]]:
    return {k: list(v.shape) for k, v in model.state_dict().items()}


def make_model_goldens() -> None:
    """models/manifest.json + one models/<case>.pt per case."""
    import grelu.model.models as gm

    install_flash_attn_stub()
    MODELS_DIR.mkdir(parents=True, exist_ok=True)
    manifest = []
    for i, (case, cls_name, kwargs, in_len) in enumerate(MODEL_CASES):
        torch.manual_seed(0)  # construction draws from the global RNG; values are replaced
        model = getattr(gm, cls_name)(**kwargs)
        shapes = _shapes(model)
        sd = synth_state_dict(shapes)
        model.load_state_dict(sd, strict=True)
        model.eval()
        x = one_hot_input(2, in_len, seed=1000 + i)
        with torch.no_grad():
            y = model(x)
        y_again = model(x).detach()
        assert torch.equal(y, y_again)
        n_el = sum(v.numel() for v in sd.values())
        store_sd = n_el <= MAX_STORED_ELEMENTS
        blob = {"input": x, "output": y.contiguous()}
        if store_sd:
            blob["state_dict"] = sd
        torch.save(blob, MODELS_DIR / f"{case}.pt")
        manifest.append(
            {
                "case": case,
                "class": cls_name,
                "kwargs": kwargs,
                "input_shape": list(x.shape),
                "output_shape": list(y.shape),
                "output_absmax": float(y.abs().max()),
                "n_params": sum(p.numel() for p in model.parameters()),
                "state_dict_stored": store_sd,
                "state_dict_shapes": shapes,
            }
        )
        print(
            f"{case:42s} {cls_name:22s} in {tuple(x.shape)} out {tuple(y.shape)} "
            f"|y|max {float(y.abs().max()):.4g} std {float(y.std()):.3g} "
            f"params {n_el} stored={store_sd}"
        )
    (MODELS_DIR / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


# Pretrained classes download weights in __init__ (gReLU 1.1.0); we run their real __init__
# on the meta device with the download, torch.load and load_state_dict patched out, so the
# recorded key layout is exactly what those classes build, without any network or disk access.
PRETRAINED_CASES: list[tuple[str, str, dict]] = [
    ("borzoi_published", "BorzoiPretrainedModel", dict(n_tasks=7611)),
    (
        "borzoi_4tf_crop16_nopool",
        "BorzoiPretrainedModel",
        dict(n_tasks=10, n_transformers=4, crop_len=16, final_pool_func=None),
    ),
    ("enformer_published", "EnformerPretrainedModel", dict(n_tasks=5313)),
    (
        "enformer_6tf_nopool",
        "EnformerPretrainedModel",
        dict(n_tasks=10, n_transformers=6, final_pool_func=None),
    ),
]


def make_pretrained_layout() -> None:
    """models/pretrained_layout.json: state_dict key names and shapes of the pretrained classes."""
    import grelu.model.models as gm
    import grelu.resources

    patches = [
        (grelu.resources, "download_model", lambda **kw: "/nonexistent/never-read.h5"),
        (torch, "load", lambda *a, **kw: None),
        (torch.nn.Module, "load_state_dict", lambda self, *a, **kw: None),
    ]
    saved = [(obj, name, getattr(obj, name)) for obj, name, _ in patches]
    out = {}
    try:
        for obj, name, fn in patches:
            setattr(obj, name, fn)
        for case, cls_name, kwargs in PRETRAINED_CASES:
            with torch.device("meta"):
                model = getattr(gm, cls_name)(**kwargs)
            shapes = _shapes(model)
            out[case] = {
                "class": cls_name,
                "kwargs": kwargs,
                "n_params": sum(p.numel() for p in model.parameters()),
                "n_state_dict_entries": len(shapes),
                "state_dict_shapes": shapes,
            }
            print(
                f"{case:28s} {cls_name:24s} params {out[case]['n_params']:,} entries {len(shapes)}"
            )
    finally:
        for obj, name, fn in saved:
            setattr(obj, name, fn)
    (MODELS_DIR / "pretrained_layout.json").write_text(json.dumps(out, indent=1) + "\n")


# --------------------------------------------------------------------------------------------
# gReLU checkpoints (issue 3)
# --------------------------------------------------------------------------------------------
CKPT_DIR = HERE / "checkpoints"
CKPT_WORK = Path("/tmp/grelu-reference-ckpt")  # trainer output; the path is recorded inside

_TASKS_META = {
    "name": ["dnase_k562", "cage_hepg2_plus", "cage_hepg2_minus", "atac_gm12878"],
    "assay": ["DNase", "CAGE", "CAGE", "ATAC"],
    "sample": ["K562", "HepG2", "HepG2", "GM12878"],
}

# (case, model_params, train_params, seq_len, tasks table columns, label kind)
# label kind: "bins:<bin_size>" regression labels aggregated to bins, "counts" one value per
# output position, "binary", "multiclass".
CKPT_CASES: list[tuple[str, dict, dict, int, dict, str]] = [
    (
        "conv_poisson",
        dict(
            model_type="ConvModel",
            n_tasks=3,
            stem_channels=8,
            stem_kernel_size=5,
            n_conv=2,
            channel_init=8,
            kernel_size=3,
            pool_func="max",
            pool_size=2,
            norm=True,
            final_pool_func=None,
        ),
        dict(task="regression", loss="poisson"),
        64,
        {k: v[:3] for k, v in _TASKS_META.items()},
        "bins:2",
    ),
    (
        "dilated_mse",
        dict(
            model_type="DilatedConvModel",
            n_tasks=2,
            channels=8,
            stem_kernel_size=5,
            kernel_size=3,
            n_conv=3,
            final_pool_func=None,
        ),
        dict(task="regression", loss="mse"),
        64,
        {"name": ["signal_a", "signal_b"], "assay": ["ChIP", "ChIP"], "sample": ["A", "B"]},
        "counts",
    ),
    (
        "transformer_binary",
        dict(
            model_type="ConvTransformerModel",
            n_tasks=2,
            stem_channels=8,
            stem_kernel_size=5,
            n_conv=2,
            channel_init=8,
            kernel_size=3,
            n_heads=2,
            final_pool_func="avg",
        ),
        dict(task="binary", loss="bce", pos_weight=[1.0, 2.0]),  # adds a loss.pos_weight key
        32,
        {"name": ["peak_k562", "peak_hepg2"], "sample": ["K562", "HepG2"]},
        "binary",
    ),
    (
        "gru_multiclass",
        dict(
            model_type="ConvGRUModel",
            n_tasks=3,
            stem_channels=8,
            stem_kernel_size=5,
            n_conv=2,
            channel_init=8,
            kernel_size=3,
            final_pool_func="avg",
        ),
        dict(task="multiclass", loss="ce"),
        32,
        {"name": ["promoter", "enhancer", "background"]},
        "multiclass",
    ),
    (
        "borzoi_poisson_multinomial_stranded",
        dict(
            model_type="BorzoiModel",
            n_tasks=4,
            stem_channels=16,
            stem_kernel_size=5,
            init_channels=32,
            channels=32,
            n_conv=3,
            kernel_size=3,
            n_transformers=1,
            key_len=4,
            value_len=8,
            n_heads=2,
            n_pos_features=8,
            crop_len=2,
            final_pool_func=None,
        ),
        dict(task="regression", loss="poisson_multinomial", total_weight=0.2),
        128,
        {**_TASKS_META, "strand": ["+", "+", "-", "."], "strand_pair": [0, 2, 1, 3]},
        "bins:2",
    ),
    (
        "mlp_mse",
        dict(
            model_type="ConvMLPModel",
            seq_len=32,
            n_tasks=2,
            stem_channels=8,
            stem_kernel_size=5,
            n_conv=2,
            channel_init=8,
            kernel_size=3,
            mlp_hidden_size=[8],
        ),
        dict(task="regression", loss="mse"),
        32,
        {"name": ["expr_a", "expr_b"], "assay": ["MPRA", "MPRA"]},
        "counts",
    ),
]

ACTIVATION_BY_TASK = {
    ("regression", "poisson"): "exp",
    ("regression", "poisson_multinomial"): "exp",
    ("regression", "mse"): "none",
    ("binary", "bce"): "sigmoid",
    ("multiclass", "ce"): "softmax(dim=1)",
}


def _random_dna(rng, n: int, length: int) -> list[str]:
    return ["".join(rng.choice(list("ACGT"), length)) for _ in range(n)]


def _train_checkpoint(case, model_params, train_params, seq_len, tasks, label_kind) -> Path:
    """1-epoch gReLU fit on 8 random sequences; returns the trainer's last.ckpt."""
    import shutil

    import numpy as np
    import pandas as pd
    import pytorch_lightning as pl
    from grelu.data.dataset import LabeledSeqDataset
    from grelu.lightning import LightningModel

    pl.seed_everything(0, workers=True)
    rng = np.random.RandomState(0)
    work = CKPT_WORK / case
    shutil.rmtree(work, ignore_errors=True)
    tp = dict(
        train_params,
        batch_size=4,
        max_epochs=1,
        num_workers=0,
        save_dir=str(work),
        name="reference",
        lr=1e-3,
    )
    model = LightningModel(model_params=dict(model_params), train_params=tp)
    n_tasks = model_params["n_tasks"]
    table = pd.DataFrame({k: v for k, v in tasks.items() if k != "name"}, index=tasks["name"])
    seqs = _random_dna(rng, 8, seq_len)
    x0 = one_hot_input(1, seq_len, seed=0)
    out_len = model.model(x0).shape[-1]
    ds_kwargs = dict(tasks=table, seq_len=seq_len)
    if label_kind.startswith("bins:"):
        bin_size = int(label_kind.split(":")[1])
        crop_bp = (seq_len - out_len * bin_size) // 2
        labels = rng.poisson(3.0, size=(8, n_tasks, out_len * bin_size)).astype(np.float32)
        ds_kwargs.update(label_len=out_len * bin_size, label_aggfunc="mean", bin_size=bin_size)
        assert crop_bp >= 0
    elif label_kind == "counts":
        labels = rng.normal(size=(8, n_tasks, out_len)).astype(np.float32)
        ds_kwargs.update(label_len=out_len)
    elif label_kind == "binary":
        labels = rng.randint(0, 2, size=(8, n_tasks, 1)).astype(np.float32)
        ds_kwargs.update(label_len=1)
    else:
        classes = rng.randint(0, n_tasks, size=8)
        labels = np.eye(n_tasks, dtype=np.float32)[classes][:, :, None]
        ds_kwargs.update(label_len=1)
    ds = LabeledSeqDataset(seqs, labels, **ds_kwargs)
    model.train_on_dataset(ds, ds)
    torch.set_float32_matmul_precision("highest")  # train_on_dataset lowered it
    return work / "lightning_logs" / "version_0" / "checkpoints" / "last.ckpt"


def _needed_safe_globals(path: Path) -> tuple[list[str], str]:
    """Globals torch.load(weights_only=True) refuses, found by allowlisting one at a time."""
    import importlib
    import pickle
    import re

    allowed, names, first_error = [], [], ""
    for _ in range(20):
        try:
            with torch.serialization.safe_globals(allowed):
                torch.load(path, weights_only=True, map_location="cpu")
            return names, first_error
        except pickle.UnpicklingError as e:
            msg = str(e)
            m = re.search(r"GLOBAL ([\w\.]+) was not an allowed global", msg) or re.search(
                r"but got <class '([\w\.]+)'>", msg
            )
            assert m, msg
            line = next(li for li in msg.splitlines() if m.group(1) in li)
            first_error = first_error or line.strip()
            module, _, attr = m.group(1).rpartition(".")
            allowed.append(getattr(importlib.import_module(module), attr))
            names.append(m.group(1))
    raise RuntimeError("too many globals")


def _grelu_load_error(path: Path) -> str:
    from grelu.lightning import LightningModel

    try:
        LightningModel.load_from_checkpoint(str(path))
        return ""
    except Exception as e:  # record what gReLU 1.1.0 does on torch 2.13
        return f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"


def make_checkpoints() -> None:
    """checkpoints/<case>.ckpt (genuine gReLU), <case>.pt (input, logits, output), manifest."""
    import shutil

    from grelu.lightning import LightningModel

    CKPT_DIR.mkdir(parents=True, exist_ok=True)
    manifest = []
    for i, (case, mp, tp, seq_len, tasks, label_kind) in enumerate(CKPT_CASES):
        src = _train_checkpoint(case, mp, tp, seq_len, tasks, label_kind)
        dst = CKPT_DIR / f"{case}.ckpt"
        shutil.copyfile(src, dst)
        globals_needed, weights_only_error = _needed_safe_globals(dst)
        grelu_error = _grelu_load_error(dst)
        lm = LightningModel.load_from_checkpoint(str(dst), weights_only=False)
        lm.eval()
        torch.set_float32_matmul_precision("highest")
        x = one_hot_input(2, seq_len, seed=2000 + i)
        with torch.no_grad():
            logits = lm(x, logits=True)
            output = lm(x)
        torch.save({"input": x, "logits": logits, "output": output}, CKPT_DIR / f"{case}.pt")
        ck = torch.load(dst, weights_only=False)
        manifest.append(
            {
                "case": case,
                "checkpoint": f"{case}.ckpt",
                "tensors": f"{case}.pt",
                "model_type": mp["model_type"],
                "model_params": ck["hyper_parameters"]["model_params"],
                "task": tp["task"],
                "loss": tp["loss"],
                "activation": ACTIVATION_BY_TASK[(tp["task"], tp["loss"])],
                "seq_len": seq_len,
                "bin_size": ck["data_params"]["train"]["bin_size"],
                "tasks": ck["data_params"]["tasks"],
                "input_shape": list(x.shape),
                "output_shape": list(output.shape),
                "top_level_keys": list(ck.keys()),
                "weights_only_safe_globals": globals_needed,
                "weights_only_first_error": weights_only_error,
                "grelu_load_from_checkpoint_error": grelu_error,
            }
        )
        print(
            f"{case:40s} {dst.stat().st_size:8d} B  out {tuple(output.shape)}  "
            f"globals {globals_needed}"
        )

    # Older-style checkpoint: same file without the keys LightningModel.on_save_checkpoint adds.
    ck = torch.load(CKPT_DIR / "conv_poisson.ckpt", weights_only=False)
    del ck["data_params"], ck["performance"]
    old = CKPT_DIR / "conv_poisson_old.ckpt"
    torch.save(ck, old)
    globals_needed, weights_only_error = _needed_safe_globals(old)
    base = next(m for m in manifest if m["case"] == "conv_poisson")
    manifest.append(
        dict(
            base,
            case="conv_poisson_old",
            checkpoint=old.name,
            tensors="conv_poisson.pt",
            bin_size=None,
            tasks=None,
            top_level_keys=list(ck.keys()),
            weights_only_safe_globals=globals_needed,
            weights_only_first_error=weights_only_error,
            grelu_load_from_checkpoint_error=_grelu_load_error(old),
        )
    )
    (CKPT_DIR / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


# --------------------------------------------------------------------------------------------
# Input side (issue 4): tiny genome, BED, resizing, one-hot as gReLU's SeqDataset produces it
# --------------------------------------------------------------------------------------------
INPUTS_DIR = HERE / "inputs"
CHROM_SIZES = {"chr1": 6000, "chr2": 2500, "chr3": 4000}
IUPAC_RUN = "RYKMSWBDHV"


def _genome_sequences() -> dict[str, str]:
    """Seeded chromosomes with N runs, soft-masked (lowercase) runs and one IUPAC run."""
    import random

    rng = random.Random(7)
    seqs = {c: [rng.choice("ACGT") for _ in range(n)] for c, n in CHROM_SIZES.items()}

    def put(chrom: str, start: int, end: int, text: str | None = None, lower: bool = False):
        for i in range(start, end):
            base = text[i - start] if text is not None else seqs[chrom][i]
            seqs[chrom][i] = base.lower() if lower else base

    put("chr1", 1000, 1100, "N" * 100)
    put("chr1", 200, 260, lower=True)
    put("chr1", 5900, 6000, lower=True)
    put("chr2", 0, 50, "N" * 50)
    put("chr2", 2450, 2500, "N" * 50)
    put("chr2", 1000, 1200, lower=True)
    put("chr2", 1195, 1205, "n" * 10)  # soft-masked N
    put("chr3", 0, 30, lower=True)
    put("chr3", 2000, 2005, "N" * 5)
    put("chr3", 3500, 3500 + len(IUPAC_RUN), IUPAC_RUN)
    return {c: "".join(v) for c, v in seqs.items()}


# name, chrom, start, end, strand, why
BED_REGIONS = [
    ("plus_mid", "chr1", 100, 300, "+", "ordinary, overlaps soft-masked 200-260"),
    ("minus_mid", "chr1", 100, 300, "-", "same region, minus strand"),
    ("minus_nrun", "chr1", 1000, 1200, "-", "minus strand over an N run"),
    ("plus_odd", "chr1", 2001, 2064, "+", "odd length 63: centre 2032.5"),
    ("minus_odd", "chr1", 2001, 2064, "-", "odd length, minus"),
    ("one_bp", "chr3", 3000, 3001, "-", "1-bp region, minus"),
    ("long_trimmed", "chr2", 300, 2000, "+", "longer than the model input: centre-cropped"),
    ("softmask_n", "chr2", 1150, 1250, "+", "soft-masked bases and soft-masked n"),
    ("dot_strand", "chr3", 10, 100, ".", "strand '.' is not '-': forward"),
    ("chr1_last", "chr1", 5936, 6000, "-", "ends exactly at the chromosome end"),
    ("near_start", "chr2", 0, 40, "+", "resized window starts before 0"),
    ("near_end", "chr2", 2480, 2500, "-", "resized window runs past the chromosome end"),
    ("iupac", "chr3", 3490, 3520, "+", "covers IUPAC codes RYKMSWBDHV"),
]
RESIZE_LENS = [64, 65, 128]
ONE_HOT_LENS = [64, 128]


def _write_genome() -> Path:
    import pyfaidx

    INPUTS_DIR.mkdir(parents=True, exist_ok=True)
    fa = INPUTS_DIR / "genome.fa"
    with fa.open("w") as f:
        for chrom, seq in _genome_sequences().items():
            f.write(f">{chrom} seeded test chromosome\n")
            for i in range(0, len(seq), 60):
                f.write(seq[i : i + 60] + "\n")
    for suffix in (".fai",):
        Path(str(fa) + suffix).unlink(missing_ok=True)
    pyfaidx.Faidx(str(fa))  # writes genome.fa.fai
    # gReLU's CustomGenome needs "<fasta>.sizes" for check_chrom_ends
    (INPUTS_DIR / "genome.fa.sizes").write_text(
        "".join(f"{c}\t{n}\n" for c, n in CHROM_SIZES.items())
    )
    with (INPUTS_DIR / "regions.bed").open("w") as f:
        for name, chrom, start, end, strand, _ in BED_REGIONS:
            f.write(f"{chrom}\t{start}\t{end}\t{name}\t0\t{strand}\n")
    return fa


def _regions_df():
    import pandas as pd

    return pd.DataFrame(
        [dict(chrom=c, start=s, end=e, name=n, strand=st) for n, c, s, e, st, _ in BED_REGIONS]
    )


def _err(e: Exception) -> str:
    return f"{type(e).__name__}: {str(e).splitlines()[0][:200]}" if str(e) else type(e).__name__


def make_inputs() -> None:
    """inputs/: genome.fa(+.fai, .sizes), regions.bed, intervals.json, one_hot.pt, strings."""
    from grelu.data.dataset import SeqDataset
    from grelu.io.bed import read_bed
    from grelu.sequence.format import one_hot_to_strings, strings_to_one_hot
    from grelu.sequence.utils import resize

    fa = _write_genome()
    df = _regions_df()
    records, tensors = [], {}
    for i, (name, chrom, start, end, strand, why) in enumerate(BED_REGIONS):
        rec = dict(name=name, chrom=chrom, start=start, end=end, strand=strand, note=why)
        rec["resized"] = {}
        for L in RESIZE_LENS:
            r = resize(df.iloc[[i]], seq_len=L)
            rec["resized"][str(L)] = [int(r.start.iloc[0]), int(r.end.iloc[0])]
        rec["seq_dataset"] = {}
        for L in ONE_HOT_LENS:
            try:
                ds = SeqDataset(df.iloc[[i]].reset_index(drop=True), seq_len=L, genome=str(fa))
                x = ds[0]
                tensors[f"{name}/{L}"] = x
                rec["seq_dataset"][str(L)] = {"ok": True, "seq": one_hot_to_strings(x)}
            except Exception as e:  # record what gReLU raises on this region
                rec["seq_dataset"][str(L)] = {"ok": False, "error": _err(e)}
        records.append(rec)

    # read_bed names only chrom/start/end: the strand column stays as integer label 5.
    bed = read_bed(str(INPUTS_DIR / "regions.bed"))
    minus = bed[bed[3] == "minus_mid"].reset_index(drop=True)
    x_bed = SeqDataset(minus, seq_len=64, genome=str(fa))[0]
    tensors["read_bed/minus_mid/64"] = x_bed

    strings = [
        ("ACGTN", "ACGTN"),
        ("all_n", "NNNN"),
        ("lowercase", "acgtn"),
        ("mixed_case", "ACgtN"),
        ("iupac", "ACGTRYKMSWBDHVN"),
        ("gap", "AC-GT"),
        ("empty", ""),
        ("batch_equal", ["ACGT", "TTNA"]),
        ("batch_unequal", ["ACGT", "ACG"]),
    ]
    str_records = []
    for key, value in strings:
        try:
            x = strings_to_one_hot(value)
            tensors[f"strings/{key}"] = x
            str_records.append({"case": key, "input": value, "ok": True, "shape": list(x.shape)})
        except Exception as e:
            str_records.append({"case": key, "input": value, "ok": False, "error": _err(e)})

    meta = {
        "genome": "genome.fa",
        "chrom_sizes": CHROM_SIZES,
        "regions": records,
        "read_bed_columns": [str(c) for c in bed.columns],
        "strings_to_one_hot": str_records,
    }
    (INPUTS_DIR / "intervals.json").write_text(json.dumps(meta, indent=1) + "\n")
    torch.save(tensors, INPUTS_DIR / "one_hot.pt")
    for r in records:
        print(
            r["name"], r["resized"], {k: v.get("error", "ok") for k, v in r["seq_dataset"].items()}
        )
    for r in str_records:
        print(r)


# --------------------------------------------------------------------------------------------
# Prediction references (issue 5): LightningModel.predict_on_dataset on the genome + BED
# --------------------------------------------------------------------------------------------
PRED_DIR = HERE / "predictions"
PRED_CKPT = "conv_poisson"  # seq_len 64, 3 tasks, 32 bins of 2 bp, exp activation
# Regions gReLU can predict at seq_len 64 with max_seq_shift <= 2 (it raises on the edge and
# IUPAC ones, and on chr1_last once shifting pads its window past the chromosome end).
PRED_REGIONS = [
    "plus_mid",
    "minus_mid",
    "minus_nrun",
    "plus_odd",
    "minus_odd",
    "one_bp",
    "long_trimmed",
    "softmask_n",
    "dot_strand",
]
# (case, SeqDataset kwargs, predict_on_dataset kwargs, length_aggfunc)
PRED_CASES = [
    ("default", {}, {}, None),
    ("rc_mean", {"rc": True}, {"augment_aggfunc": "mean"}, None),
    ("shift2_mean", {"max_seq_shift": 2}, {"augment_aggfunc": "mean"}, None),
    ("rc_shift1_mean", {"rc": True, "max_seq_shift": 1}, {"augment_aggfunc": "mean"}, None),
    ("rc_shift1_none", {"rc": True, "max_seq_shift": 1}, {"augment_aggfunc": None}, None),
    ("length_mean", {}, {}, "mean"),
    ("rc_length_mean", {"rc": True}, {"augment_aggfunc": "mean"}, "mean"),
    ("rc_shift1_length_sum", {"rc": True, "max_seq_shift": 1}, {"augment_aggfunc": "mean"}, "sum"),
]


def make_predictions() -> None:
    """predictions/: predict_on_dataset outputs for PRED_REGIONS, one entry per PRED_CASES."""
    import grelu.lightning
    from grelu.data.dataset import SeqDataset
    from grelu.lightning import LightningModel
    from grelu.transforms.prediction_transforms import Aggregate

    PRED_DIR.mkdir(parents=True, exist_ok=True)
    fa = INPUTS_DIR / "genome.fa"
    assert fa.exists(), "run the 'inputs' step first"
    df = _regions_df()
    df = df[df.name.isin(PRED_REGIONS)].reset_index(drop=True)
    assert list(df.name) == PRED_REGIONS
    lm = LightningModel.load_from_checkpoint(
        str(CKPT_DIR / f"{PRED_CKPT}.ckpt"), weights_only=False
    )
    lm.eval()
    # predict_on_dataset sets matmul precision "medium" (bf16 on AMX CPUs); keep fp32 exact.
    real_set = torch.set_float32_matmul_precision
    torch.set_float32_matmul_precision("highest")
    tensors, cases = {}, []
    try:
        torch.set_float32_matmul_precision = lambda *_: None
        for case, ds_kwargs, pred_kwargs, length_agg in PRED_CASES:
            ds = SeqDataset(df, seq_len=64, genome=str(fa), **ds_kwargs)
            lm.reset_transform()
            if length_agg is not None:
                lm.add_transform(Aggregate(length_aggfunc=length_agg))
            kwargs = dict(devices="cpu", num_workers=0, batch_size=7, **pred_kwargs)
            preds = lm.predict_on_dataset(ds, **kwargs)
            tensors[case] = torch.from_numpy(preds.copy())
            cases.append(
                {
                    "case": case,
                    "seq_dataset_kwargs": dict(seq_len=64, **ds_kwargs),
                    "predict_on_dataset_kwargs": kwargs,
                    "transform": None
                    if length_agg is None
                    else f"Aggregate(length_aggfunc={length_agg!r})",
                    "n_augmented": ds.n_augmented,
                    "shape": list(preds.shape),
                }
            )
            print(case, preds.shape, ds.n_augmented)
        # The model outputs for exactly the inputs the dataset feeds, in dataset order
        # (region-major, augmentation-minor) -- the raw material of the averages above.
        lm.reset_transform()
        ds = SeqDataset(df, seq_len=64, genome=str(fa), rc=True, max_seq_shift=1)
        x = torch.stack([ds[i] for i in range(len(ds))])
        with torch.no_grad():
            tensors["rc_shift1_inputs"] = x
            tensors["rc_shift1_model_outputs"] = lm(x)
    finally:
        torch.set_float32_matmul_precision = real_set
        torch.set_float32_matmul_precision("highest")
    assert grelu.lightning is not None
    torch.save(tensors, PRED_DIR / "predictions.pt")
    meta = {
        "checkpoint": f"checkpoints/{PRED_CKPT}.ckpt",
        "genome": "inputs/genome.fa",
        "regions": df.to_dict(orient="records"),
        "windows": [
            {"start": int(r.start), "end": int(r.end)}
            for r in SeqDataset(df, seq_len=64, genome=str(fa)).intervals.itertuples()
        ],
        "seq_len": 64,
        "bin_size": 2,
        "crop_len": 0,
        "cases": cases,
    }
    (PRED_DIR / "predictions.json").write_text(json.dumps(meta, indent=1) + "\n")
    _check_prediction_facts(tensors, len(df))


def _check_prediction_facts(t: dict, n: int) -> None:
    """Assert the facts README.md states about gReLU's augmentation order and averaging."""
    raw = t["rc_shift1_model_outputs"].reshape(n, 6, 3, 32)  # aug: (rc, shift) rc-major
    x = t["rc_shift1_inputs"].reshape(n, 6, 4, 64)
    assert torch.equal(x[:, 3:], x[:, :3].flip(2).flip(3))  # rc of the same shifted windows
    assert torch.equal(x[0, 0][:, 1:], x[0, 1][:, :-1])  # aug 0 = window moved 1 bp left
    flipped = raw.clone()
    flipped[:, 3:] = raw[:, 3:].flip(-1)  # rc outputs flipped back along length
    assert torch.equal(t["rc_shift1_none"], flipped)
    assert torch.allclose(t["rc_shift1_mean"], flipped.mean(1), rtol=0, atol=1e-6)
    assert torch.equal(t["default"], raw[:, 1])
    assert torch.allclose(t["rc_mean"], (raw[:, 1] + raw[:, 4].flip(-1)) / 2, rtol=0, atol=1e-6)
    per_aug = raw.mean(-1, keepdim=True)  # length aggregation happens per augmentation
    assert torch.allclose(t["length_mean"], per_aug[:, 1], rtol=0, atol=1e-6)
    assert torch.allclose(t["rc_length_mean"], per_aug[:, [1, 4]].mean(1), rtol=0, atol=1e-6)
    summed = raw.sum(-1, keepdim=True).mean(1)
    assert torch.allclose(t["rc_shift1_length_sum"], summed, rtol=0, atol=1e-5)


def main(argv: list[str]) -> None:
    torch.set_float32_matmul_precision("highest")
    what = argv[1] if len(argv) > 1 else "all"
    if what in ("models", "all"):
        make_model_goldens()
    if what in ("layout", "models", "all"):
        make_pretrained_layout()
    if what in ("checkpoints", "all"):
        make_checkpoints()
    if what in ("inputs", "all"):
        make_inputs()
    if what in ("predictions", "all"):
        make_predictions()


if __name__ == "__main__":
    main(sys.argv)
