# hw2 mutated submission: treats w[-1] as unused (no bias), forward and backward.
# Only the function under test is defined; grade it with --problem.
import numpy as np


def sigmoid_neuron(w, x):
    s = w[:-1] @ x
    f = 1.0 / (1.0 + np.exp(-s))
    ds = f * (1.0 - f)
    return f, np.append(ds * x, 0.0), ds * w[:-1]
