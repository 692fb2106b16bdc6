# hw2 mutated submission: dfdz is 3 q (an invented constant factor).
# Only the function under test is defined; grade it with --problem.
import numpy as np


def graph(x, y, z):
    q = x + y
    return q * z, z, z, 3 * q
