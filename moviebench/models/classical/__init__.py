"""Classical rungs: linear, kernel and tree models on hand-made features (TF-IDF, colour
histograms, metadata). Cheap, strong and well understood: what a learned model must beat."""
