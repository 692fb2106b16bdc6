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


# ---------------------------------------------------------------------------
# Known-wrong variants: the mistakes catalogue (`[[problems.mistakes]]` in
# assignment.toml). Each has the student's signature and returns what a
# submission with that one mistake returns; the grader names the mistake only
# when a submission's outputs equal a variant's on every case. None of these
# is used for scoring.
# ---------------------------------------------------------------------------

# graph
def graph_dfdz_product(x, y, z):
    f, dfdx, dfdy, _ = graph(x, y, z)
    return f, dfdx, dfdy, x * y


def graph_add_halves(x, y, z):
    f, _, _, dfdz = graph(x, y, z)
    return f, z / 2.0, z / 2.0, dfdz


# sigmoid neuron
def sigmoid_neuron_bias_grad_dropped(w, x):
    f, dw, dx = sigmoid_neuron(w, x)
    dw = dw.copy()
    dw[-1] = 0.0
    return f, dw, dx


def sigmoid_neuron_lecture_02(w, x):
    """The notes' rounded local gradient 0.2 used for every input."""
    f = sigmoid_neuron_forward(w, x)
    return f, np.append(0.2 * x, 0.2), 0.2 * w[:-1]


def sigmoid_neuron_no_bias(w, x):
    """The notes' sigma(w0 x0 + w1 x1 + w2 x2) read as 'no bias': w[-1] ignored."""
    f = _sigmoid(w[:-1] @ x)
    dz = (1.0 - f) * f
    return f, np.append(dz * x, 0.0), dz * w[:-1]


# gates
def add_gate_halves(dout, x, y):
    return dout / 2.0, dout / 2.0


def add_gate_ones(dout, x, y):
    return np.ones_like(dout), np.ones_like(dout)


def mul_gate_not_switched(dout, x, y):
    return dout * x, dout * y


def mul_gate_no_upstream(dout, x, y):
    return y.copy(), x.copy()


def max_gate_both(dout, x, y):
    return dout.copy(), dout.copy()


def max_gate_wrong_input(dout, x, y):
    mask = x > y
    return dout * ~mask, dout * mask


# l2_wx
def l2_wx_lecture_row0(W, x):
    """The notes' 1_{k=1}: only row 0 of dW gets 2 q_0 x."""
    f, dW, dx = l2_wx(W, x)
    wrong = np.zeros_like(dW)
    wrong[0] = dW[0]
    return f, wrong, dx


def l2_wx_no_factor_2(W, x):
    f, dW, dx = l2_wx(W, x)
    return f, dW / 2.0, dx / 2.0


# two-layer net
def two_layer_no_relu_mask(W1, W2, x, dout):
    f, _, dW2, _ = two_layer(W1, W2, x, dout)
    da = W2.T @ dout
    return f, np.outer(da, x), dW2, W1.T @ da


# losses: data term and regularisation term, so that variants can change one
def _with_reg(base, W, X, y, reg, *, loss_reg=1.0, grad_reg=2.0):
    loss, dW = base(W, X, y, 0.0)
    return loss + loss_reg * reg * np.sum(W * W), dW + grad_reg * reg * W


def _softmax_parts(W, X, y):
    n = X.shape[0]
    s = X @ W
    s = s - s.max(axis=1, keepdims=True)
    p = np.exp(s)
    p /= p.sum(axis=1, keepdims=True)
    return n, p


def softmax_loss_grad_no_mean(W, X, y, reg):
    n = X.shape[0]
    loss, dW = softmax_loss(W, X, y, 0.0)
    return loss + reg * np.sum(W * W), n * dW + 2.0 * reg * W


def softmax_loss_sum_not_mean(W, X, y, reg):
    n = X.shape[0]
    loss, dW = softmax_loss(W, X, y, 0.0)
    return n * loss + reg * np.sum(W * W), n * dW + 2.0 * reg * W


def softmax_loss_divides_by_classes(W, X, y, reg):
    n, c = X.shape[0], W.shape[1]
    loss, dW = softmax_loss(W, X, y, 0.0)
    return n / c * loss + reg * np.sum(W * W), n / c * dW + 2.0 * reg * W


def softmax_loss_lecture_a_minus_1(W, X, y, reg):
    """The notes' dJ/dz = (a - 1)/N applied to every class."""
    loss, _ = softmax_loss(W, X, y, reg)
    n, p = _softmax_parts(W, X, y)
    return loss, X.T @ (p - 1.0) / n + 2.0 * reg * W


def softmax_loss_no_max_shift(W, X, y, reg):
    """Naive exp without the max shift: overflows (NaN/inf) at large scores."""
    n = X.shape[0]
    with np.errstate(all="ignore"):
        e = np.exp(X @ W)
        p = e / e.sum(axis=1, keepdims=True)
        loss = -np.log(p[np.arange(n), y]).mean() + reg * np.sum(W * W)
        ds = p.copy()
        ds[np.arange(n), y] -= 1.0
        return loss, X.T @ ds / n + 2.0 * reg * W


def softmax_loss_reg_grad_1x(W, X, y, reg):
    return _with_reg(softmax_loss, W, X, y, reg, grad_reg=1.0)


def softmax_loss_reg_missing_in_loss(W, X, y, reg):
    return _with_reg(softmax_loss, W, X, y, reg, loss_reg=0.0)


def softmax_loss_reg_missing_in_grad(W, X, y, reg):
    return _with_reg(softmax_loss, W, X, y, reg, grad_reg=0.0)


def softmax_loss_reg_half(W, X, y, reg):
    return _with_reg(softmax_loss, W, X, y, reg, loss_reg=0.5, grad_reg=1.0)


def svm_loss_counts_correct_class(W, X, y, reg):
    """margins[i, y_i] = 1 left in: loss + 1, and dS[i, y_i] = -(count + 1)."""
    n = X.shape[0]
    m = _margins(W, X, y)
    m[np.arange(n), y] = 1.0
    loss = np.maximum(0.0, m).sum() / n + reg * np.sum(W * W)
    ds = (m > 0).astype(float)
    ds[np.arange(n), y] = -ds.sum(axis=1)
    return loss, X.T @ ds / n + 2.0 * reg * W


def svm_loss_grad_no_mean(W, X, y, reg):
    n = X.shape[0]
    loss, dW = svm_loss(W, X, y, 0.0)
    return loss + reg * np.sum(W * W), n * dW + 2.0 * reg * W


def svm_loss_sum_not_mean(W, X, y, reg):
    n = X.shape[0]
    loss, dW = svm_loss(W, X, y, 0.0)
    return n * loss + reg * np.sum(W * W), n * dW + 2.0 * reg * W


def _svm_correct_class_grad(W, X, y, reg, only_if_positive):
    n = X.shape[0]
    loss, _ = svm_loss(W, X, y, reg)
    m = _margins(W, X, y)
    ds = (m > 0).astype(float)
    ds[np.arange(n), y] = -1.0 if not only_if_positive else -(ds.sum(axis=1) > 0).astype(float)
    return loss, X.T @ ds / n + 2.0 * reg * W


def svm_loss_lecture_minus_one(W, X, y, reg):
    """The notes' dL/ds_{y_i} = -1 once per example, not once per positive margin."""
    return _svm_correct_class_grad(W, X, y, reg, only_if_positive=False)


def svm_loss_lecture_minus_one_if_any(W, X, y, reg):
    return _svm_correct_class_grad(W, X, y, reg, only_if_positive=True)


def svm_loss_reg_grad_1x(W, X, y, reg):
    return _with_reg(svm_loss, W, X, y, reg, grad_reg=1.0)


def svm_loss_reg_missing_in_loss(W, X, y, reg):
    return _with_reg(svm_loss, W, X, y, reg, loss_reg=0.0)


def svm_loss_reg_missing_in_grad(W, X, y, reg):
    return _with_reg(svm_loss, W, X, y, reg, grad_reg=0.0)


def svm_loss_reg_half(W, X, y, reg):
    return _with_reg(svm_loss, W, X, y, reg, loss_reg=0.5, grad_reg=1.0)


def l2_wx_half_square(W, x):
    """f = 1/2 ||W x||^2, differentiated consistently."""
    f, dW, dx = l2_wx(W, x)
    return f / 2.0, dW / 2.0, dx / 2.0
