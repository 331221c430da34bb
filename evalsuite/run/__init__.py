"""Orchestration: the runner, its phases, workers and generators, drift and traces."""
