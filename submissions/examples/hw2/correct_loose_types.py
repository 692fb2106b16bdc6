# Correct hw2 submission with loose return types: Python floats, 0-d arrays, nested lists (.tolist()), lists instead of tuples (all float64).
import numpy as np


def graph(x, y, z):
    q = x + y
    # a list instead of a tuple; 0-d arrays and Python floats mixed
    return [np.array(q * z), np.float64(z), z, np.array(q)]


def sigmoid_neuron(w, x):
    w = np.asarray(w, dtype=float)
    s = np.dot(w[:-1], x) + w[-1]
    f = 1.0 / (1.0 + np.exp(-s))          # np.float64
    ds = f * (1.0 - f)
    dw = [float(ds * xi) for xi in x] + [float(ds)]   # a list of floats
    dx = (ds * w[:-1]).tolist()
    return [np.asarray(f), dw, dx]


def add_gate_backward(dout, x, y):
    return dout.tolist(), dout.tolist()    # nested lists when 2-D


def mul_gate_backward(dout, x, y):
    return [(dout * y).tolist(), (dout * x).tolist()]


def max_gate_backward(dout, x, y):
    dx = np.where(x > y, dout, 0.0)
    dy = np.where(x > y, 0.0, dout)
    return [dx.tolist(), dy]


def l2_wx(W, x):
    q = W.dot(x)
    f = np.sum(q ** 2)                     # np.float64
    dW = 2.0 * q[:, None] * x[None, :]
    dx = 2.0 * W.T.dot(q)
    return [np.array(f), dW.tolist(), list(dx)]


def two_layer(W1, W2, x, dout):
    h = W1.dot(x)
    a = np.maximum(h, 0.0)
    f = W2.dot(a)
    dW2 = np.outer(dout, a)
    dh = W2.T.dot(dout) * (h > 0)
    dW1 = np.outer(dh, x)
    dx = W1.T.dot(dh)
    return [f.tolist(), dW1.tolist(), dW2, dx.tolist()]


def softmax_loss(W, X, y, reg):
    N = X.shape[0]
    S = X.dot(W)
    S = S - np.max(S, axis=1, keepdims=True)
    E = np.exp(S)
    P = E / np.sum(E, axis=1, keepdims=True)
    loss = -np.mean(S[np.arange(N), y] - np.log(np.sum(E, axis=1)))
    loss += reg * np.sum(W ** 2)
    P[np.arange(N), y] -= 1.0
    dW = X.T.dot(P) / N + 2.0 * reg * W
    return [np.array(loss), dW.tolist()]


def svm_loss(W, X, y, reg):
    N = X.shape[0]
    S = X.dot(W)
    M = np.maximum(0.0, S - S[np.arange(N), y][:, None] + 1.0)
    M[np.arange(N), y] = 0.0
    loss = float(np.sum(M) / N + reg * np.sum(W ** 2))
    G = (M > 0) * 1.0
    G[np.arange(N), y] = -np.sum(G, axis=1)
    dW = X.T.dot(G) / N + 2.0 * reg * W
    return [loss, dW.tolist()]
