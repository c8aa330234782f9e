"""Trivial-free rungs on hand-made features: linear, kernel and tree models (TF-IDF, colour
histograms, metadata)."""
