# hw2 mutated submission: dx = dout*x, dy = dout*y.
# Only the function under test is defined; grade it with --problem.
import numpy as np


def mul_gate_backward(dout, x, y):
    return dout * x, dout * y
