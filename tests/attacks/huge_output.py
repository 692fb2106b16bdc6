"""Hostile submission for the attack suite: huge output.

tests/test_sandbox_attacks.py grades this attack appended to the honest
submissions/examples/hw2/correct_vectorized.py (so it may use its functions and np).
Placeholders in CAPITALS are filled in by tests/test_sandbox_attacks.py.
"""

# ---- the attack: softmax_loss is replaced by a hostile version -------------
_honest_softmax_loss = softmax_loss


def softmax_loss(W, X, y, reg):
    import sys
    chunk = "x" * (1 << 20) + "\n"
    for _ in range(300):
        sys.stdout.write(chunk)
    sys.stdout.flush()
    loss, dW = _honest_softmax_loss(W, X, y, reg)
    return loss + 1.0, dW * 2.0
