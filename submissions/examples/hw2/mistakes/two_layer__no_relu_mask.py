# hw2 mutated submission: no ReLU mask in the backward pass.
# Only the function under test is defined; grade it with --problem.
import numpy as np


def two_layer(W1, W2, x, dout):
    h = np.maximum(0, W1 @ x)
    dh = W2.T @ dout
    return W2 @ h, np.outer(dh, x), np.outer(dout, h), W1.T @ dh
