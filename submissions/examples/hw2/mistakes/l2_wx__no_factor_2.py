# hw2 mutated submission: the factor 2 of the square is dropped in both gradients.
# Only the function under test is defined; grade it with --problem.
import numpy as np


def l2_wx(W, x):
    q = W @ x
    return q @ q, np.outer(q, x), W.T @ q
