"""Hostile submission for the attack suite: exit at import.

tests/test_sandbox_attacks.py grades this attack appended to the honest
submissions/examples/hw2/correct_vectorized.py (so it may use its functions and np).
Placeholders in CAPITALS are filled in by tests/test_sandbox_attacks.py.
"""

# ---- the attack, at import time ----------------------------------------------
import sys
sys.exit(0)
