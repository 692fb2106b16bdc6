# hw2 submission with a syntax error on line 11 (missing colon after "def sigmoid_neuron(w, x)"); nothing can be graded.
import numpy as np


def graph(x, y, z):
    q = x + y
    f = q * z
    return float(f), float(z), float(z), float(q)


def sigmoid_neuron(w, x)
    w = np.asarray(w, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    s = w[:-1] @ x + w[-1]
    f = 1.0 / (1.0 + np.exp(-s))
    ds = f * (1.0 - f)
    return float(f), ds * np.append(x, 1.0), ds * w[:-1]


def add_gate_backward(dout, x, y):
    return np.array(dout, dtype=np.float64), np.array(dout, dtype=np.float64)


def mul_gate_backward(dout, x, y):
    return dout * y, dout * x


def max_gate_backward(dout, x, y):
    return dout * (x > y), dout * (x <= y)


def l2_wx(W, x):
    q = W @ x
    return float(q @ q), 2.0 * np.outer(q, x), 2.0 * W.T @ q


def two_layer(W1, W2, x, dout):
    h = W1 @ x
    a = np.maximum(0.0, h)
    dh = (W2.T @ dout) * (h > 0)
    return W2 @ a, np.outer(dh, x), np.outer(dout, a), W1.T @ dh


def softmax_loss(W, X, y, reg):
    N = X.shape[0]
    S = X @ W
    S = S - S.max(axis=1, keepdims=True)
    lse = np.log(np.exp(S).sum(axis=1))
    P = np.exp(S - lse[:, None])
    loss = (lse - S[np.arange(N), y]).mean() + reg * np.sum(W * W)
    P[np.arange(N), y] -= 1.0
    return float(loss), X.T @ P / N + 2.0 * reg * W


def svm_loss(W, X, y, reg):
    N = X.shape[0]
    S = X @ W
    M = np.maximum(0.0, S - S[np.arange(N), y][:, None] + 1.0)
    M[np.arange(N), y] = 0.0
    D = (M > 0).astype(np.float64)
    D[np.arange(N), y] = -D.sum(axis=1)
    return float(M.sum() / N + reg * np.sum(W * W)), X.T @ D / N + 2.0 * reg * W
