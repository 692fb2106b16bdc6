# hw2 mutated submission: no reg in the loss.
# Only the function under test is defined; grade it with --problem.
import numpy as np


def softmax_loss(W, X, y, reg):
    N, C = X.shape[0], W.shape[1]
    s = X @ W
    s = s - s.max(axis=1, keepdims=True)
    p = np.exp(s)
    p /= p.sum(axis=1, keepdims=True)
    data = -np.log(p[np.arange(N), y]).sum()
    ds = p.copy()
    ds[np.arange(N), y] -= 1
    return data / N + 0.0, X.T @ ds / N + 2 * reg * W
