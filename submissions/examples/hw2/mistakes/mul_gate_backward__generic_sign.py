# hw2 mutated submission: both gradients have the wrong sign.
# Only the function under test is defined; grade it with --problem.
import numpy as np


def mul_gate_backward(dout, x, y):
    return -dout * y, -dout * x
