"""grader: an automated grader for backpropagation homework."""

__version__ = "0.1.0"
