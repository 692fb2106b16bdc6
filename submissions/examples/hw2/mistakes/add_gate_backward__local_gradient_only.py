# hw2 mutated submission: returns the local gradient 1, not times dout.
# Only the function under test is defined; grade it with --problem.
import numpy as np


def add_gate_backward(dout, x, y):
    return np.ones_like(dout), np.ones_like(dout)
