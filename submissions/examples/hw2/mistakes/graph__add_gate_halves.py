# hw2 mutated submission: graph splits z between x and y (dfdx = dfdy = z/2).
# Only the function under test is defined; grade it with --problem.
import numpy as np


def graph(x, y, z):
    q = x + y
    return q * z, z / 2, z / 2, q
