# hw2 mutated submission: dw[-1] (the bias) is 0.
# Only the function under test is defined; grade it with --problem.
import numpy as np


def sigmoid_neuron(w, x):
    s = w[:-1] @ x + w[-1]
    f = 1.0 / (1.0 + np.exp(-s))
    ds = f * (1.0 - f)
    dw = np.append(ds * x, 0.0)
    return f, dw, ds * w[:-1]
