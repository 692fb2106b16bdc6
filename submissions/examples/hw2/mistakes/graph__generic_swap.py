# hw2 mutated submission: the gradients are returned in the wrong order (dfdz first).
# Only the function under test is defined; grade it with --problem.
import numpy as np


def graph(x, y, z):
    q = x + y
    return q * z, q, z, z
