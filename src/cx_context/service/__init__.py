"""The FastAPI app, the CLI and settings: the one place that wires things together."""
