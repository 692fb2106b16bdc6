# hw2 mutated submission: dx returned as a (d, 1) column.
# Only the function under test is defined; grade it with --problem.
import numpy as np


def l2_wx(W, x):
    q = W @ x
    return q @ q, 2 * np.outer(q, x), (2 * W.T @ q)[:, None]
