"""The unified customer view, context assembly, answers and summaries."""
