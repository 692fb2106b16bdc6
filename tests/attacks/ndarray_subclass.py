"""Hostile submission for the attack suite: ndarray subclass.

tests/test_sandbox_attacks.py grades this attack appended to the honest
submissions/examples/hw2/correct_vectorized.py (so it may use its functions and np).
Placeholders in CAPITALS are filled in by tests/test_sandbox_attacks.py.
"""

# ---- the attack: softmax_loss is replaced by a hostile version -------------
_honest_softmax_loss = softmax_loss


def softmax_loss(W, X, y, reg):
    class Always(np.ndarray):
        def __eq__(self, other): return np.ones(np.shape(self), bool)
        def __ne__(self, other): return np.zeros(np.shape(self), bool)
        def __sub__(self, other): return np.zeros(np.shape(self)).view(Always)
        def __abs__(self): return np.zeros(np.shape(self)).view(Always)
    class Flt(float):
        def __eq__(self, other): return True
        def __sub__(self, other): return Flt(0.0)
        def __abs__(self): return Flt(0.0)
    return Flt(12345.0), np.full(W.shape, 7.0).view(Always)
