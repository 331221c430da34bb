"""The scoring phase: scorers over stored images, and the metric card."""
