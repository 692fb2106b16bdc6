"""Hostile submission for the attack suite: walk filesystem.

tests/test_sandbox_attacks.py grades this attack appended to the honest
submissions/examples/hw2/correct_vectorized.py (so it may use its functions and np).
Placeholders in CAPITALS are filled in by tests/test_sandbox_attacks.py.
"""

# ---- the attack: softmax_loss is replaced by a hostile version -------------
_honest_softmax_loss = softmax_loss


def softmax_loss(W, X, y, reg):
    import os
    found = []
    for top in ("/", "/root", "/home", "/work", "/srv", "/opt", "/tmp"):
        for root, dirs, files in os.walk(top):
            if root.startswith(("/proc", "/sys", "/dev", "/usr")):
                dirs[:] = []
                continue
            found += [os.path.join(root, f) for f in files if f in ("reference.py", "x.db") or f.endswith(".db")]
    if not found:
        raise FileNotFoundError("nothing to steal")
    return _honest_softmax_loss(W, X, y, reg)
