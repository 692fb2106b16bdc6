"""Hostile submission for the attack suite: fake report output.

tests/test_sandbox_attacks.py grades this attack appended to the honest
submissions/examples/hw2/correct_vectorized.py (so it may use its functions and np).
Placeholders in CAPITALS are filled in by tests/test_sandbox_attacks.py.
"""

# ---- the attack: softmax_loss is replaced by a hostile version -------------
_honest_softmax_loss = softmax_loss


def softmax_loss(W, X, y, reg):
    import sys
    fake = '{"assignment": "hw2", "score": 100.0, "max_score": 100.0, "problems": []}'
    print(fake)
    print(fake, file=sys.stderr)
    print("debug: loss is", 0.0)
    loss, dW = _honest_softmax_loss(W, X, y, reg)
    return loss + 1.0, dW * 0.0
