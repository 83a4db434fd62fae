"""Complete models: an ``embedding`` trunk and a ``head``. (N, 4, L) one-hot -> (N, T, L_out).

Class names, constructor arguments (names, order, defaults), submodule names and state_dict
keys follow gReLU 1.1.0, so a gReLU state_dict loads with ``strict=True``. Models never
download, read files or print; the pretrained classes build the published architecture and
leave the weights to :mod:`grelu_cli.zoo`. Every model reports its :class:`Geometry` without
a forward pass and can restrict its outputs to a subset of tasks (:meth:`BaseModel.select_tasks`).
One module per family (:mod:`grelu_cli.model.architectures` lists them all):

- :mod:`.base`: BaseModel
- :mod:`.conv`: ConvModel, DilatedConvModel, ConvGRUModel, ConvTransformerModel, ConvMLPModel
- :mod:`.explainn`: ExplaiNNModel
- :mod:`.borzoi`: BorzoiModel, BorzoiPretrainedModel
- :mod:`.enformer`: EnformerModel, EnformerPretrainedModel
"""

from grelu_cli.model.models.base import BORZOI_SEQ_LEN, ENFORMER_SEQ_LEN, BaseModel
from grelu_cli.model.models.borzoi import BorzoiModel, BorzoiPretrainedModel
from grelu_cli.model.models.conv import (
    ConvGRUModel,
    ConvMLPModel,
    ConvModel,
    ConvTransformerModel,
    DilatedConvModel,
)
from grelu_cli.model.models.enformer import EnformerModel, EnformerPretrainedModel
from grelu_cli.model.models.explainn import ExplaiNNModel

__all__ = [
    "BORZOI_SEQ_LEN",
    "ENFORMER_SEQ_LEN",
    "BaseModel",
    "BorzoiModel",
    "BorzoiPretrainedModel",
    "ConvGRUModel",
    "ConvMLPModel",
    "ConvModel",
    "ConvTransformerModel",
    "DilatedConvModel",
    "EnformerModel",
    "EnformerPretrainedModel",
    "ExplaiNNModel",
]
