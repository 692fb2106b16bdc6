"""Instructor batch grading: a class's files in, grades, an export and a class report out.

- `discover.py`: which file is whose, from a folder or an LMS export (.zip),
  parsed and never imported; duplicates, ambiguous and unreadable entries are
  listed, never silently dropped. Archives are read member by member with caps.
- `run.py`: grade the roster in parallel (one sandbox per submission, one
  shared grading plan), resumable, skipping what is already graded.
- `report.py`: the one-page offline HTML class report; `summary.py`: the end-of-run tables and the export.
- `worker.py`: several machines grading one PostgreSQL gradebook
  (`grader worker`): leases taken with SELECT ... FOR UPDATE SKIP LOCKED.
"""
