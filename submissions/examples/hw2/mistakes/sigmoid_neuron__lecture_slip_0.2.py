# hw2 mutated submission: uses the lecture's local gradient 0.2.
# Only the function under test is defined; grade it with --problem.
import numpy as np


def sigmoid_neuron(w, x):
    s = w[:-1] @ x + w[-1]
    f = 1.0 / (1.0 + np.exp(-s))
    ds = f * (1.0 - f)
    ds = 0.2  # (1 - 0.73) * 0.73 = 0.2, from the notes
    return f, np.append(ds * x, ds), ds * w[:-1]
