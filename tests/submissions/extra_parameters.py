# Correct graph, sigmoid_neuron and l2_wx with extra keyword-only, defaulted and *args parameters; two_layer takes too few.
import numpy as np
def graph(x, y, z, *, verbose=False):
    q = x + y
    return q * z, z, z, q
def sigmoid_neuron(w, x, debug=False):
    s = 1/(1+np.exp(-(w[:-1]@x + w[-1])))
    return s, np.append(s*(1-s)*x, s*(1-s)), s*(1-s)*w[:-1]
def l2_wx(*args):
    W, x = args
    q = W @ x
    return q @ q, 2*np.outer(q, x), 2*W.T@q
def two_layer(W1, W2):
    return 0
