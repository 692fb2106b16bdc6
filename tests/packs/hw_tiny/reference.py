"""Trusted forward for hw_tiny: the only function the pack gives."""

import numpy as np


def cube_forward(x):
    return float(np.sum(np.asarray(x) ** 3))
