"""Trunks: (N, 4, L) one-hot -> (N, C, L_emb) embeddings."""
