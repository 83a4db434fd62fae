"""Architecture parameters are checked against the constructor's annotations (or defaults)."""

from __future__ import annotations

import pytest

from grelu_cli.errors import InputDataError, UsageError
from grelu_cli.zoo.factory import ARCHITECTURES, model_class
from grelu_cli.zoo.param_types import check_types, describe
from grelu_cli.zoo.registry import REGISTRY


class Toy:
    def __init__(
        self,
        n: int,
        rate: float = 0.1,
        flag: bool = False,
        act: str = "relu",
        pool: str | None = None,
        crop: int | str = "auto",
        sizes: list[int] = [8],  # noqa: B006 - a signature to inspect, never called
        extra: dict | None = None,
        untyped_int=3,
        untyped_none=None,
    ) -> None:
        pass


def _check(**kwargs):
    check_types(Toy, kwargs, where="--param", error=UsageError)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n": 1},
        {"rate": 1},  # an int is a number
        {"rate": 0.5, "flag": True, "act": "gelu", "pool": None},
        {"act": None},  # gReLU's "no activation"
        {"crop": 3},
        {"crop": "auto"},
        {"sizes": [8, 4]},
        {"sizes": (8,)},
        {"extra": {"a": 1}},
        {"untyped_int": 5},
        {"untyped_none": object()},
    ],
)
def test_accepted(kwargs):
    _check(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"n": "abc"}, "n takes an integer, not 'abc'"),
        ({"n": 2.5}, "n takes an integer, not 2.5"),
        ({"n": 2.0}, "n takes an integer, not 2.0"),
        ({"n": True}, "n takes an integer, not true"),
        ({"n": None}, "n takes an integer, not null"),
        ({"rate": "x"}, "rate takes a number"),
        ({"flag": 1}, "flag takes true or false, not 1"),
        ({"act": 3}, "act takes a name (text) or null, not 3"),
        ({"pool": 3}, "pool takes a name (text) or null, not 3"),
        ({"crop": 1.5}, "crop takes an integer or a name (text), not 1.5"),
        ({"crop": None}, "crop takes an integer or a name (text), not null"),
        ({"sizes": [8, "x"]}, "sizes takes a list of integers"),
        ({"sizes": 8}, "sizes takes a list of integers, not 8"),
        ({"extra": [1]}, "extra takes a JSON object or null"),
        ({"untyped_int": "x"}, "untyped_int takes an integer"),
    ],
)
def test_refused_with_parameter_and_expected_type(kwargs, needle):
    with pytest.raises(UsageError) as err:
        _check(**kwargs)
    assert err.value.exit_code == 2
    assert str(err.value).startswith("--param: Toy parameter " + needle), str(err.value)
    assert "(e.g. --param " in str(err.value)


def test_checkpoint_values_are_input_data_errors():
    with pytest.raises(InputDataError) as err:
        check_types(Toy, {"n": "x"}, where="m.ckpt", error=InputDataError)
    assert err.value.exit_code == 3 and "m.ckpt: Toy parameter n" in str(err.value)


def test_describe():
    assert describe(int) == "an integer"
    assert describe(str | None) == "a name (text) or null"
    assert describe(list[int]) == "a list of integers"


@pytest.mark.parametrize("rec", [r for r in REGISTRY.values() if r.architecture])
def test_every_zoo_record_passes_its_own_check(rec):
    cls = model_class(rec.architecture)
    check_types(cls, dict(rec.arch_kwargs), where=rec.name, error=InputDataError)


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_every_default_passes_its_own_check(arch):
    import inspect

    cls = model_class(arch)
    defaults = {
        n: p.default
        for n, p in inspect.signature(cls.__init__).parameters.items()
        if p.default is not p.empty and n not in ("dtype", "device")
    }
    check_types(cls, defaults, where=arch, error=InputDataError)
