# hw2 mutated submission: the add gate halves dout.
# Only the function under test is defined; grade it with --problem.
import numpy as np


def add_gate_backward(dout, x, y):
    return dout / 2, dout / 2
