"""Pure numerical checks: finite differences and comparisons. No I/O, no processes.

- `fd`: directional centered differences with kink detection.
- `compare`: shape rules, closeness, the worst entries of a mismatch.
"""
