"""Features shared by models and cached on disk: text embeddings, image arrays, and more."""
