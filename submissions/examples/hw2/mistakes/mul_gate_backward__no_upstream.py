# hw2 mutated submission: dx = y, dy = x (no upstream gradient).
# Only the function under test is defined; grade it with --problem.
import numpy as np


def mul_gate_backward(dout, x, y):
    return y.copy(), x.copy()
