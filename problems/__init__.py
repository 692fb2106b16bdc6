"""Assignment packs: one folder per assignment, each with `assignment.toml`
(the spec, validated by `grader.spec`) and `reference.py` (trusted code that
runs only in the grader's process, never in a submission's sandbox)."""
