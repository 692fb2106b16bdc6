"""Hostile submission for the attack suite: eq override.

tests/test_sandbox_attacks.py grades this attack appended to the honest
submissions/examples/hw2/correct_vectorized.py (so it may use its functions and np).
Placeholders in CAPITALS are filled in by tests/test_sandbox_attacks.py.
"""

# ---- the attack: softmax_loss is replaced by a hostile version -------------
_honest_softmax_loss = softmax_loss


def softmax_loss(W, X, y, reg):
    class Liar:
        def __eq__(self, other): return True
        def __ne__(self, other): return False
        __lt__ = __le__ = __gt__ = __ge__ = __eq__
        def __float__(self): return 0.0
        def __array__(self, dtype=None, copy=None): return np.zeros(W.shape)
        def __len__(self): return 2
        def __iter__(self): return iter([self, self])
    return Liar(), Liar()
