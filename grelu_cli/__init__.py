"""grelu-cli: batch prediction for gReLU sequence-to-function models."""

__version__ = "0.1.0"
