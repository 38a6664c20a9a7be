"""Loaders, ingestion (redaction first), chunking, embeddings, vectors and retrieval."""
