# hw2 mutated submission: the notes' 1_{k=1}: only row 0 of dW.
# Only the function under test is defined; grade it with --problem.
import numpy as np


def l2_wx(W, x):
    q = W @ x
    dW = np.zeros_like(W)
    dW[0] = 2 * q[0] * x
    return q @ q, dW, 2 * W.T @ q
