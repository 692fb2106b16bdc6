# Partly done hw2 submission: the starter with only graph implemented; the other eight still raise NotImplementedError.
"""hw2 -- backpropagation by hand (starter file).

Implement each function below and submit this file with

    grader submit hw2.py

Rules (see README.md): a gradient has the shape of its variable; every
returned value is finite; do not modify the arguments; use numpy and the
Python standard library only. Leave a function raising NotImplementedError
and it is reported as "not attempted".
"""

import numpy as np


def graph(x, y, z):
    """f = (x + y) * z and its gradients (lecture: computational graphs).

    Args:
        x, y, z: scalars (Python floats).

    Returns:
        (f, dfdx, dfdy, dfdz): four scalars.
    """
    q = x + y
    f = q * z
    return f, z, z, q


def sigmoid_neuron(w, x):
    """f = sigmoid(w[:-1] . x + w[-1]); the last entry of w is the bias.

    Args:
        w: (D+1,) weights, bias last.
        x: (D,) input.

    Returns:
        (f, dw, dx): f a scalar, dw of shape (D+1,), dx of shape (D,).
    """
    raise NotImplementedError


def add_gate_backward(dout, x, y):
    """Backward pass of the add gate z = x + y (elementwise).

    Args:
        dout: upstream gradient dL/dz, same shape as x and y (1-D or 2-D).
        x, y: the gate's inputs.

    Returns:
        (dx, dy): dL/dx and dL/dy, each of the shape of x.
    """
    raise NotImplementedError


def mul_gate_backward(dout, x, y):
    """Backward pass of the multiply gate z = x * y (elementwise).

    Args:
        dout: upstream gradient dL/dz, same shape as x and y (1-D or 2-D).
        x, y: the gate's inputs.

    Returns:
        (dx, dy): dL/dx and dL/dy, each of the shape of x.
    """
    raise NotImplementedError


def max_gate_backward(dout, x, y):
    """Backward pass of the max gate z = max(x, y) (elementwise).

    Args:
        dout: upstream gradient dL/dz, same shape as x and y (1-D or 2-D).
        x, y: the gate's inputs (the grader never passes ties).

    Returns:
        (dx, dy): dL/dx and dL/dy, each of the shape of x.
    """
    raise NotImplementedError


def l2_wx(W, x):
    """f = ||W x||^2 and its gradients.

    Args:
        W: (n, d) matrix.
        x: (d,) vector.

    Returns:
        (f, dW, dx): f a scalar, dW of shape (n, d), dx of shape (d,).
    """
    raise NotImplementedError


def two_layer(W1, W2, x, dout):
    """Two-layer net f = W2 max(0, W1 x), forward and backward.

    Args:
        W1: (h, d) first-layer weights.
        W2: (c, h) second-layer weights.
        x: (d,) input.
        dout: (c,) upstream gradient; the gradients are those of the
            scalar dout . f.

    Returns:
        (f, dW1, dW2, dx): f of shape (c,), dW1 (h, d), dW2 (c, h), dx (d,).
    """
    raise NotImplementedError


def softmax_loss(W, X, y, reg):
    """Softmax (cross-entropy) loss, CS231n style; must be numerically stable.

    Args:
        W: (D, C) weights.
        X: (N, D) data, one example per row.
        y: (N,) integer labels in [0, C).
        reg: regularisation strength (float).

    Returns:
        (loss, dW): loss = mean cross-entropy over the N examples
        + reg * sum(W**2), a scalar; dW of shape (D, C).
    """
    raise NotImplementedError


def svm_loss(W, X, y, reg):
    """Multiclass SVM (hinge) loss with margin 1, CS231n style.

    Args:
        W: (D, C) weights.
        X: (N, D) data, one example per row.
        y: (N,) integer labels in [0, C).
        reg: regularisation strength (float).

    Returns:
        (loss, dW): loss = mean over i of sum_{j != y_i}
        max(0, s_ij - s_{i,y_i} + 1) + reg * sum(W**2) with s = X W,
        a scalar; dW of shape (D, C).
    """
    raise NotImplementedError
