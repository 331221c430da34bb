"""The machine: energy, GPU state, timing, prices."""
