"""flops-fit: compute-optimal scaling-law studies for your own model, data and loss."""
__version__ = "0.1.0"
