# hw2 mutated submission: dW's data term is not divided by N.
# Only the function under test is defined; grade it with --problem.
import numpy as np


def svm_loss(W, X, y, reg):
    N = X.shape[0]
    s = X @ W
    m = np.maximum(0, s - s[np.arange(N), y][:, None] + 1)
    m[np.arange(N), y] = 0
    ds = (m > 0).astype(float)
    ds[np.arange(N), y] = -ds.sum(axis=1)
    return m.sum() / N + reg * np.sum(W * W), X.T @ ds + 2 * reg * W
