# hw2 mutated submission: dW2 = outer(h, dout): the transpose, of the wrong shape.
# Only the function under test is defined; grade it with --problem.
import numpy as np


def two_layer(W1, W2, x, dout):
    a = W1 @ x
    h = np.maximum(0, a)
    dh = (W2.T @ dout) * (a > 0)
    return W2 @ h, np.outer(dh, x), np.outer(h, dout), W1.T @ dh
