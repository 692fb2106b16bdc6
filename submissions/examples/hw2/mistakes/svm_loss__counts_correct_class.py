# hw2 mutated submission: the correct class's margin (1) is counted.
# Only the function under test is defined; grade it with --problem.
import numpy as np


def svm_loss(W, X, y, reg):
    N = X.shape[0]
    s = X @ W
    m = np.maximum(0, s - s[np.arange(N), y][:, None] + 1)
    ds = (m > 0).astype(float)
    ds[np.arange(N), y] = -ds.sum(axis=1)
    return m.sum() / N + reg * np.sum(W * W), X.T @ ds / N + 2 * reg * W
