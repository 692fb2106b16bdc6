# hw2 mutated submission: dout goes to both inputs.
# Only the function under test is defined; grade it with --problem.
import numpy as np


def max_gate_backward(dout, x, y):
    return dout.copy(), dout.copy()
