"""Blocks made of layers, one module per family. Conv blocks take and return (N, C, L);
:class:`LinearBlock`, :class:`FeedForwardBlock` and :class:`TransformerBlock` work on the last
axis ((N, L, C) inside a tower). Attribute names follow gReLU 1.1.0 so state_dict keys match.

- :mod:`.conv`: ConvBlock, ChannelTransformBlock, Stem, SeparableConv, ConvTower
- :mod:`.dense`: LinearBlock, FeedForwardBlock
- :mod:`.recurrent`: GRUBlock
- :mod:`.transformer`: TransformerBlock, TransformerTower
- :mod:`.unet`: UnetBlock, UnetTower
"""

from grelu_cli.model.blocks.conv import (
    ChannelTransformBlock,
    ConvBlock,
    ConvTower,
    SeparableConv,
    Stem,
)
from grelu_cli.model.blocks.dense import FeedForwardBlock, LinearBlock
from grelu_cli.model.blocks.recurrent import GRUBlock
from grelu_cli.model.blocks.transformer import TransformerBlock, TransformerTower
from grelu_cli.model.blocks.unet import UnetBlock, UnetTower

__all__ = [
    "ChannelTransformBlock",
    "ConvBlock",
    "ConvTower",
    "FeedForwardBlock",
    "GRUBlock",
    "LinearBlock",
    "SeparableConv",
    "Stem",
    "TransformerBlock",
    "TransformerTower",
    "UnetBlock",
    "UnetTower",
]
