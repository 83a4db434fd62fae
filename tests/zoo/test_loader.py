"""Loading checkpoints: gReLU-written files match gReLU's predictions, safe unpickling,
state dicts and safetensors, old checkpoints, clear errors."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
import torch

from grelu_cli.errors import (
    InputDataError,
    MissingResourceError,
    UnsafeCheckpointError,
    UsageError,
)
from grelu_cli.zoo import load_model
from grelu_cli.zoo.activation import activation_from_train_params
from grelu_cli.zoo.build import build_checkpoint_file
from grelu_cli.zoo.checkpoint import safe_load, split_state_dict

ZOO_DATA = Path(__file__).resolve().parents[1] / "data" / "zoo"
GRELU_FILES = ["grelu_conv_poisson.ckpt", "grelu_dilated_binary.ckpt", "grelu_gru_multiclass.ckpt"]


@pytest.fixture(scope="module")
def expected() -> dict:
    return torch.load(ZOO_DATA / "expected.pt", weights_only=True)


@pytest.mark.parametrize("fname", GRELU_FILES)
def test_grelu_written_checkpoints_predict_what_grelu_predicts(fname, expected):
    lm = load_model(ZOO_DATA / fname)
    assert not lm.model.training
    x, y_ref = expected[fname]["x"], expected[fname]["y"]
    with torch.no_grad():
        y = lm.activation(lm.model(x))
    assert y.shape == y_ref.shape
    tol = 1e-5 * max(1.0, y_ref.abs().max().item())
    assert (y - y_ref).abs().max().item() <= tol
    assert lm.seq_len == 120
    assert lm.tasks["name"].tolist() == lm.task_names and len(lm.task_names) == lm.n_tasks


def test_activation_and_metadata_come_from_the_checkpoint():
    conv = load_model(ZOO_DATA / "grelu_conv_poisson.ckpt")
    assert conv.activation.name == "exp" and conv.model_type == "ConvModel"
    assert conv.tasks.to_dict("list") == {
        "name": ["t0", "t1", "t2"],
        "cell": ["K562", "HepG2", "GM12878"],
    }
    assert conv.sha256 == __import__("hashlib").sha256(conv.path.read_bytes()).hexdigest()
    binary = load_model(ZOO_DATA / "grelu_dilated_binary.ckpt")  # has loss.pos_weight
    assert binary.activation.name == "sigmoid"
    multi = load_model(ZOO_DATA / "grelu_gru_multiclass.ckpt")
    assert multi.activation.name == "softmax" and not multi.activation.elementwise


def test_logits_skips_the_activation(expected):
    lm = load_model(ZOO_DATA / "grelu_conv_poisson.ckpt", logits=True)
    x = expected["grelu_conv_poisson.ckpt"]["x"]
    with torch.no_grad():
        raw = lm.activation(lm.model(x))
    assert torch.allclose(raw.exp(), expected["grelu_conv_poisson.ckpt"]["y"], rtol=1e-5)
    assert lm.output_activation.name == "exp"


@pytest.mark.parametrize(
    ("task", "loss", "name"),
    [
        ("regression", "poisson", "exp"),
        ("regression", "poisson_multinomial", "exp"),
        ("regression", "MSE", "none"),
        ("binary", "bce", "sigmoid"),
        ("multiclass", None, "softmax"),
        (None, None, "sigmoid"),  # gReLU's defaults: binary + bce
    ],
)
def test_activation_table(task, loss, name):
    params = {k: v for k, v in (("task", task), ("loss", loss)) if v is not None}
    assert activation_from_train_params(params, where="t").name == name


def test_unknown_regression_loss_is_refused():
    with pytest.raises(InputDataError, match="--logits"):
        activation_from_train_params({"task": "regression", "loss": "huber"}, where="t")


class _Evil:
    """Unpickling this would create a marker file (it must never happen)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _evil_checkpoint(tmp_path: Path) -> tuple[Path, Path]:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.ckpt"
    obj = {
        "state_dict": {"model.w": torch.zeros(1)},
        "hyper_parameters": {"model_params": {"model_type": "ConvModel", "n_tasks": 1}},
        "payload": _Evil(marker),
    }
    torch.save(obj, path)
    return path, marker


def test_malicious_pickle_is_refused_and_never_executed(tmp_path):
    path, marker = _evil_checkpoint(tmp_path)
    with pytest.raises(UnsafeCheckpointError) as err:
        load_model(path)
    assert "system" in str(err.value) and "--trust-checkpoint" in str(err.value)
    assert err.value.exit_code == 3
    with pytest.raises(UnsafeCheckpointError):
        safe_load(path)
    assert not marker.exists()


def test_plain_pickle_file_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "weights.pt"
    path.write_bytes(pickle.dumps(_Evil(marker)))
    with pytest.raises((UnsafeCheckpointError, InputDataError)):
        load_model(path, arch="ConvModel", model_params={"n_tasks": 1})
    assert not marker.exists()


def test_numpy_performance_arrays_are_allowed(tmp_path):
    # The gReLU files carry numpy arrays under 'performance'; a plain weights_only load fails.
    with pytest.raises(pickle.UnpicklingError):
        torch.load(ZOO_DATA / "grelu_conv_poisson.ckpt", weights_only=True)
    obj = safe_load(ZOO_DATA / "grelu_conv_poisson.ckpt")
    assert obj["performance"]["val"]["val_mse"].shape == (3,)


def test_truncated_checkpoint_is_bad_input(tmp_path):
    data = (ZOO_DATA / "grelu_conv_poisson.ckpt").read_bytes()
    bad = tmp_path / "cut.ckpt"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputDataError, match="cannot read"):
        load_model(bad)


def test_old_checkpoint_without_data_params_and_performance(tmp_path):
    obj = safe_load(ZOO_DATA / "grelu_conv_poisson.ckpt")
    del obj["data_params"], obj["performance"]
    del obj["hyper_parameters"]["train_params"]
    path = tmp_path / "old.ckpt"
    torch.save(obj, path)
    lm = load_model(path)
    assert lm.task_names == ["task_0", "task_1", "task_2"]
    assert lm.seq_len is None
    assert lm.activation.name == "sigmoid"  # gReLU's default train_params: binary


def test_data_params_under_hyper_parameters_is_read(tmp_path):
    obj = safe_load(ZOO_DATA / "grelu_conv_poisson.ckpt")
    obj["hyper_parameters"]["data_params"] = obj.pop("data_params")
    path = tmp_path / "v104.ckpt"
    torch.save(obj, path)
    assert load_model(path).task_names == ["t0", "t1", "t2"]


def test_split_state_dict_drops_non_model_keys():
    weights, ignored = split_state_dict(
        {"model.a": 1, "model.b.c": 2, "loss.pos_weight": 3, "transform.x": 4}
    )
    assert weights == {"a": 1, "b.c": 2} and ignored == ["loss.pos_weight", "transform.x"]
    assert split_state_dict({"a": 1}) == ({"a": 1}, [])


@pytest.fixture()
def built(tmp_path) -> Path:
    out = tmp_path / "conv.ckpt"
    build_checkpoint_file(
        "ConvModel",
        out,
        n_tasks=2,
        params={"stem_channels": 8, "channel_init": 8, "n_conv": 1},
        seq_len=64,
        loss="poisson",
    )
    return out


def test_plain_state_dict_needs_the_architecture(tmp_path, built):
    ref = load_model(built)
    sd_path = tmp_path / "sd.pt"
    torch.save(ref.model.state_dict(), sd_path)
    with pytest.raises(UsageError, match="--arch"):
        load_model(sd_path)
    params = {"n_tasks": 2, "stem_channels": 8, "channel_init": 8, "n_conv": 1}
    lm = load_model(sd_path, arch="ConvModel", model_params=params)
    x = torch.rand(2, 4, 64)
    with torch.no_grad():
        assert torch.equal(lm.model(x), ref.model(x))
    assert lm.activation.name == "none" and lm.task_names == ["task_0", "task_1"]


def test_safetensors_with_arch_or_metadata(tmp_path, built):
    import json

    from safetensors.torch import save_file

    ref = load_model(built)
    params = {"n_tasks": 2, "stem_channels": 8, "channel_init": 8, "n_conv": 1}
    plain = tmp_path / "w.safetensors"
    save_file(ref.model.state_dict(), plain)
    lm = load_model(plain, arch="convmodel", model_params=params)
    x = torch.rand(1, 4, 64)
    with torch.no_grad():
        assert torch.equal(lm.model(x), ref.model(x))
    meta = tmp_path / "m.safetensors"
    save_file(
        ref.model.state_dict(),
        meta,
        metadata={
            "model_params": json.dumps({"model_type": "ConvModel", **params}),
            "train_params": json.dumps({"task": "binary"}),
        },
    )
    lm2 = load_model(meta)
    assert lm2.model_type == "ConvModel" and lm2.activation.name == "sigmoid"


def test_wrong_architecture_params_give_one_line_errors(tmp_path, built):
    sd_path = tmp_path / "sd.pt"
    torch.save(load_model(built).model.state_dict(), sd_path)
    with pytest.raises(InputDataError, match=r"missing|unexpected|shape"):
        load_model(sd_path, arch="ConvModel", model_params={"n_tasks": 2})
    # --arch/--param are typed by the user: their mistakes are usage errors (exit 2)
    with pytest.raises(UsageError, match="no parameter bogus"):
        load_model(sd_path, arch="ConvModel", model_params={"n_tasks": 2, "bogus": 1})
    with pytest.raises(UsageError, match="unknown architecture"):
        load_model(sd_path, arch="ResNet50", model_params={"n_tasks": 2})
    for bad in ("abc", 2.5, True, None):
        with pytest.raises(UsageError, match="parameter n_tasks takes an integer"):
            load_model(sd_path, arch="ConvModel", model_params={"n_tasks": bad})


def test_missing_file_and_architecture_names(tmp_path):
    with pytest.raises(MissingResourceError):
        load_model(tmp_path / "nope.ckpt")
    with pytest.raises(UsageError, match="grelu models build"):
        load_model("ConvModel")
    with pytest.raises(UsageError, match="decima"):
        load_model("decima")


def test_provenance_names_the_file_and_checksum(built):
    lm = load_model(built)
    prov = lm.provenance()
    assert prov["model"] == built.name and prov["file"] == built.name
    assert prov["sha256"] == lm.sha256 and prov["model_type"] == "ConvModel"
    assert prov["activation"] == "exp"


def test_safetensors_metadata_without_train_params_has_no_activation(tmp_path, built):
    import json

    from safetensors.torch import save_file

    params = {"model_type": "ConvModel", "n_tasks": 2, "stem_channels": 8, "channel_init": 8}
    path = tmp_path / "m.safetensors"
    save_file(
        load_model(built).model.state_dict(),
        path,
        metadata={"model_params": json.dumps({**params, "n_conv": 1})},
    )
    assert load_model(path).activation.name == "none"


def test_trust_checkpoint_is_the_explicit_opt_out(tmp_path):
    obj = safe_load(ZOO_DATA / "grelu_conv_poisson.ckpt")
    obj["hyper_parameters"]["train_params"]["save_dir"] = Path("/runs/x")  # a non-weight object
    path = tmp_path / "pathy.ckpt"
    torch.save(obj, path)
    with pytest.raises(UnsafeCheckpointError, match="PosixPath"):
        load_model(path)
    assert load_model(path, trust_checkpoint=True).activation.name == "exp"


def test_species_and_replicate_only_for_zoo_models(built):
    with pytest.raises(UsageError, match="--species"):
        load_model(built, species="mouse")
    with pytest.raises(UsageError, match="--species/--replicate"):
        load_model("someone/some-model", replicate=1)
