"""Trained weights of the embedded critic (package data)."""
