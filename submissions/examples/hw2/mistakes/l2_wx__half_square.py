# hw2 mutated submission: f = 0.5 ||Wx||^2 (the 1/2 convention) with its own consistent gradients q x^T, W^T q.
# Only the function under test is defined; grade it with --problem.
import numpy as np


def l2_wx(W, x):
    q = W @ x
    return 0.5 * q @ q, np.outer(q, x), W.T @ q
