# hw2 mutated submission: the forward pass forgets the ReLU (f = W2 W1 x), and the backward pass
# differentiates that linear net consistently: a value-only mistake with consistent gradients.
# Only the function under test is defined; grade it with --problem.
import numpy as np


def two_layer(W1, W2, x, dout):
    a = W1 @ x
    dh = W2.T @ dout
    return W2 @ a, np.outer(dh, x), np.outer(dout, a), W1.T @ dh
