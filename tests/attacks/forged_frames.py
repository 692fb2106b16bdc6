"""Hostile submission for the attack suite: forged frames.

tests/test_sandbox_attacks.py grades this attack appended to the honest
submissions/examples/hw2/correct_vectorized.py (so it may use its functions and np).
Placeholders in CAPITALS are filled in by tests/test_sandbox_attacks.py.
"""

# ---- the attack: softmax_loss is replaced by a hostile version -------------
_honest_softmax_loss = softmax_loss


def softmax_loss(W, X, y, reg):
    import json, os, struct
    header = json.dumps({"ok": True, "id": "x", "result": {"t": "seq", "type": "tuple", "items": [
        {"t": "array", "dtype": "<f8", "shape": [], "scalar": True, "off": 0, "n": 8}]},
        "args_after": []}).encode()
    frame = struct.pack(">4sIQ", b"GRD1", len(header), 8) + header + struct.pack("<d", 1.0)
    for fd in range(3, 32):
        try:
            os.write(fd, frame)
        except OSError:
            pass
    return 1.0, np.zeros(W.shape)
