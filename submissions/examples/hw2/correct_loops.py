# Correct hw2 submission in naive CS231n style: explicit Python loops over examples and classes, still stable (shift by row max).
import math

import numpy as np


def graph(x, y, z):
    # forward
    q = x + y
    f = q * z
    # backward
    df = 1.0
    dq = z * df
    dz = q * df
    dx = 1.0 * dq
    dy = 1.0 * dq
    return f, dx, dy, dz


def sigmoid_neuron(w, x):
    D = len(x)
    s = w[D]
    for i in range(D):
        s += w[i] * x[i]
    f = 1.0 / (1.0 + math.exp(-s))
    ds = (1.0 - f) * f
    dw = np.zeros(D + 1)
    dx = np.zeros(D)
    for i in range(D):
        dw[i] = ds * x[i]
        dx[i] = ds * w[i]
    dw[D] = ds
    return f, dw, dx


def add_gate_backward(dout, x, y):
    dx = np.zeros(np.shape(x))
    dy = np.zeros(np.shape(y))
    for idx in np.ndindex(*dx.shape):
        dx[idx] = dout[idx]
        dy[idx] = dout[idx]
    return dx, dy


def mul_gate_backward(dout, x, y):
    dx = np.zeros(np.shape(x))
    dy = np.zeros(np.shape(y))
    for idx in np.ndindex(*dx.shape):
        dx[idx] = dout[idx] * y[idx]
        dy[idx] = dout[idx] * x[idx]
    return dx, dy


def max_gate_backward(dout, x, y):
    dx = np.zeros(np.shape(x))
    dy = np.zeros(np.shape(y))
    for idx in np.ndindex(*dx.shape):
        if x[idx] >= y[idx]:
            dx[idx] = dout[idx]
        else:
            dy[idx] = dout[idx]
    return dx, dy


def l2_wx(W, x):
    n, d = W.shape
    q = np.zeros(n)
    for i in range(n):
        for j in range(d):
            q[i] += W[i, j] * x[j]
    f = 0.0
    for i in range(n):
        f += q[i] ** 2
    dW = np.zeros((n, d))
    dx = np.zeros(d)
    for i in range(n):
        for j in range(d):
            dW[i, j] = 2.0 * q[i] * x[j]
            dx[j] += 2.0 * q[i] * W[i, j]
    return f, dW, dx


def two_layer(W1, W2, x, dout):
    h_dim, d = W1.shape
    c = W2.shape[0]
    h = np.zeros(h_dim)
    for k in range(h_dim):
        for j in range(d):
            h[k] += W1[k, j] * x[j]
    a = np.zeros(h_dim)
    for k in range(h_dim):
        a[k] = h[k] if h[k] > 0 else 0.0
    f = np.zeros(c)
    for i in range(c):
        for k in range(h_dim):
            f[i] += W2[i, k] * a[k]

    dW2 = np.zeros((c, h_dim))
    da = np.zeros(h_dim)
    for i in range(c):
        for k in range(h_dim):
            dW2[i, k] = dout[i] * a[k]
            da[k] += dout[i] * W2[i, k]
    dh = np.zeros(h_dim)
    for k in range(h_dim):
        if h[k] > 0:
            dh[k] = da[k]
    dW1 = np.zeros((h_dim, d))
    dx = np.zeros(d)
    for k in range(h_dim):
        for j in range(d):
            dW1[k, j] = dh[k] * x[j]
            dx[j] += dh[k] * W1[k, j]
    return f, dW1, dW2, dx


def softmax_loss(W, X, y, reg):
    loss = 0.0
    dW = np.zeros(W.shape)
    num_train = X.shape[0]
    num_classes = W.shape[1]
    for i in range(num_train):
        scores = X[i].dot(W)
        scores = scores - np.max(scores)  # shift for numerical stability
        total = 0.0
        for j in range(num_classes):
            total += math.exp(scores[j])
        loss += -scores[y[i]] + math.log(total)
        for j in range(num_classes):
            p = math.exp(scores[j]) / total
            if j == y[i]:
                dW[:, j] += (p - 1.0) * X[i]
            else:
                dW[:, j] += p * X[i]
    loss /= num_train
    dW /= num_train
    loss += reg * np.sum(W * W)
    dW += 2 * reg * W
    return loss, dW


def svm_loss(W, X, y, reg):
    loss = 0.0
    dW = np.zeros(W.shape)
    num_train = X.shape[0]
    num_classes = W.shape[1]
    for i in range(num_train):
        scores = X[i].dot(W)
        correct_class_score = scores[y[i]]
        for j in range(num_classes):
            if j == y[i]:
                continue
            margin = scores[j] - correct_class_score + 1  # note delta = 1
            if margin > 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    loss /= num_train
    dW /= num_train
    loss += reg * np.sum(W * W)
    dW += 2 * reg * W
    return loss, dW
