"""Grading in continuous integration: finding the submission in a repository
(`discover`), who the student is (`environment`), the report in other systems'
formats (`formats`), GitHub Actions' job summary and annotations (`github`),
and the files `init-ci` and `gradescope-setup` write (`templates`).

`grader.ci.run.run_ci` connects them; `cli.py` only prints and exits.
"""
