# hw2 mutated submission: dout goes to the smaller input.
# Only the function under test is defined; grade it with --problem.
import numpy as np


def max_gate_backward(dout, x, y):
    return dout * (x < y), dout * (y < x)
