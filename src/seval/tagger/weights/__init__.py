"""Weights of the embedded risk tagger (trained by training/train_tagger.py)."""
