# hw2 mutated submission: no max shift: overflows at large scores.
# Only the function under test is defined; grade it with --problem.
import numpy as np


def softmax_loss(W, X, y, reg):
    N = X.shape[0]
    e = np.exp(X @ W)
    p = e / e.sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(N), y]).mean() + reg * np.sum(W * W)
    ds = p.copy()
    ds[np.arange(N), y] -= 1
    return loss, X.T @ ds / N + 2 * reg * W
