"""Pipelines: loading, the tiny built-ins, tracing, what a model can run."""
