# hw2 mutated submission: graph's dfdz is x*y instead of q = x + y.
# Only the function under test is defined; grade it with --problem.
import numpy as np


def graph(x, y, z):
    q = x + y
    return q * z, z, z, x * y
