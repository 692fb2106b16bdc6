# hw2 mutated submission: the notes' dL/ds_y = -1, loop style: once per example with a positive margin.
# Only the function under test is defined; grade it with --problem.
import numpy as np


def svm_loss(W, X, y, reg):
    N, C = X.shape[0], W.shape[1]
    loss = 0.0
    dW = np.zeros_like(W)
    for i in range(N):
        s = X[i] @ W
        positive = False
        for j in range(C):
            if j == y[i]:
                continue
            margin = s[j] - s[y[i]] + 1
            if margin > 0:
                loss += margin
                dW[:, j] += X[i]
                positive = True
        if positive:
            dW[:, y[i]] -= X[i]
    return loss / N + reg * np.sum(W * W), dW / N + 2 * reg * W
