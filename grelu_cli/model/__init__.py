"""Model library: layers -> blocks -> trunks/heads -> models. Imports only torch."""
