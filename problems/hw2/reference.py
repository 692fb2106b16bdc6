"""Trusted reference for hw2. Runs only in the grader's process.

Functions named in `assignment.toml`:
- `*_forward`: the forward value as a function of the inputs; the grader's
  oracle is centered finite differences of these.
- full solutions with the students' signatures: a cross-check and the source
  of "expected" entries in feedback.
- `*_kinks`: quantities that must stay away from zero in drawn data (max-gate
  differences, ReLU pre-activations, hinge margins), so that correct code never
  meets a kink.
- builders `(rng, dims) -> dict of arguments` for hand-made probes.
"""

import numpy as np


# graph: f = (x + y) z
def graph_forward(x, y, z):
    return (x + y) * z


def graph(x, y, z):
    q = x + y
    return q * z, z, z, q


# sigmoid neuron: f = sigma(w[:-1] . x + w[-1])
def _sigmoid(t):
    return 1.0 / (1.0 + np.exp(-t))


def sigmoid_neuron_forward(w, x):
    return _sigmoid(w[:-1] @ x + w[-1])


def sigmoid_neuron(w, x):
    f = sigmoid_neuron_forward(w, x)
    dz = (1.0 - f) * f
    dw = np.append(dz * x, dz)
    dx = dz * w[:-1]
    return f, dw, dx


# gates: the grader differentiates dout . z
def add_gate_forward(x, y):
    return x + y


def add_gate_backward(dout, x, y):
    return dout.copy(), dout.copy()


def mul_gate_forward(x, y):
    return x * y


def mul_gate_backward(dout, x, y):
    return dout * y, dout * x


def max_gate_forward(x, y):
    return np.maximum(x, y)


def max_gate_kinks(x, y):
    return x - y


def max_gate_backward(dout, x, y):
    mask = x > y
    return dout * mask, dout * ~mask


# f = ||W x||^2
def l2_wx_forward(W, x):
    q = W @ x
    return q @ q


def l2_wx(W, x):
    q = W @ x
    return q @ q, 2.0 * np.outer(q, x), 2.0 * W.T @ q


# two-layer ReLU net: f = W2 max(0, W1 x), gradients of dout . f
def two_layer_forward(W1, W2, x):
    return W2 @ np.maximum(0.0, W1 @ x)


def two_layer_kinks(W1, W2, x):
    return W1 @ x


def two_layer(W1, W2, x, dout):
    a = W1 @ x
    h = np.maximum(0.0, a)
    f = W2 @ h
    dW2 = np.outer(dout, h)
    dh = W2.T @ dout
    da = dh * (a > 0)
    return f, np.outer(da, x), dW2, W1.T @ da


# softmax loss, CS231n: W (D, C), X (N, D), y (N,)
def softmax_loss_forward(W, X, y, reg):
    s = X @ W
    s = s - s.max(axis=1, keepdims=True)
    log_p = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    n = X.shape[0]
    return -log_p[np.arange(n), y].mean() + reg * np.sum(W * W)


def softmax_loss(W, X, y, reg):
    n = X.shape[0]
    s = X @ W
    s = s - s.max(axis=1, keepdims=True)
    p = np.exp(s)
    p /= p.sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(n), y]).mean() + reg * np.sum(W * W)
    dscores = p
    dscores[np.arange(n), y] -= 1.0
    return loss, X.T @ dscores / n + 2.0 * reg * W


def softmax_large_scores(rng, dims):
    """Every score X W lies in [700, 1000]; reg = 0. Naive exp overflows here."""
    n, d, c = dims["N"], dims["D"], dims["C"]
    X = np.hstack([rng.uniform(0.5, 1.5, size=(n, d - 1)), np.ones((n, 1))])
    W = np.vstack([rng.uniform(-10.0, 10.0, size=(d - 1, c)), rng.uniform(840.0, 860.0, size=(1, c))])
    y = rng.integers(0, c, size=n)
    return {"W": W, "X": X, "y": y, "reg": 0.0}


# multiclass SVM loss
def _margins(W, X, y):
    s = X @ W
    n = X.shape[0]
    m = s - s[np.arange(n), y][:, None] + 1.0
    m[np.arange(n), y] = 0.0
    return m


def svm_loss_forward(W, X, y, reg):
    return np.maximum(0.0, _margins(W, X, y)).sum() / X.shape[0] + reg * np.sum(W * W)


def svm_kinks(W, X, y, reg):
    m = _margins(W, X, y)
    keep = np.ones_like(m, dtype=bool)
    keep[np.arange(X.shape[0]), y] = False
    return m[keep]


def svm_loss(W, X, y, reg):
    n = X.shape[0]
    m = _margins(W, X, y)
    loss = np.maximum(0.0, m).sum() / n + reg * np.sum(W * W)
    ds = (m > 0).astype(float)
    ds[np.arange(n), y] = -ds.sum(axis=1)
    return loss, X.T @ ds / n + 2.0 * reg * W
