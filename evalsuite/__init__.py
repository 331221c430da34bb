"""evalsuite: quality-versus-speed evaluation of accelerated text-to-image diffusion."""

__version__ = "0.1.0"
