"""`grader batch` grading: a class graded in parallel and stored, re-runs skip what is
graded, --regrade adds runs to the same submissions, the export and the class report
are written (the report parsed, its charts decoded), instructor policy (exit 3), one
shared plan across threads gives the same reports as sequential grading, and
Ctrl-C keeps finished results and a re-run completes the rest."""

from __future__ import annotations

import base64
import csv
import io
import os
import signal
import sqlite3
import struct
import subprocess
import sys
import time
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader.batch.discover import discover
from grader.batch.report import class_report_html
from grader.batch.run import run_batch
from grader.cli import app
from grader.store import open_store

REPO = Path(__file__).resolve().parents[1]
PACKS = REPO / "tests" / "packs"
EXAMPLES = REPO / "submissions" / "examples" / "hw2"
T = datetime(2025, 3, 14, 22, 30, tzinfo=timezone.utc)
runner = CliRunner()

CUBE = "import numpy as np\n\ndef cube(x):\n    x = np.asarray(x, dtype=float)\n    return float(np.sum(x ** 3)), 3 * x ** 2\n"
CLASS = {
    "alice": CUBE,
    "bob": "import numpy as np\n\ndef cube(x):\n    return float(np.sum(x ** 3)), 2 * x\n",  # wrong gradient
    "carol": "import os\n\ndef cube(x):\n    os._exit(3)\n",  # crash
    "dave": "def cube(x):\n    while True:\n        pass\n",  # timeout
    "erin": "def cube(x)\n    return 0\n",  # syntax error
    "<b>frank&amp;": CUBE,  # markup in a name must stay text in the report
}


def make_class(root: Path, members: dict[str, str] = CLASS) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in members.items():
        path = root / f"{name}.py"
        path.write_text(text)
        os.utime(path, (T.timestamp(), T.timestamp()))
    return root


def batch(*args: str):
    return runner.invoke(app, ["batch", *args, "--assignment", "hw_tiny", "--problems", str(PACKS)])


def rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict] = []
        self.text: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "img":
            self.images.append(dict(attrs))

    def handle_data(self, data):
        self.text.append(data)


def png_size(uri: str) -> tuple[int, int]:
    assert uri.startswith("data:image/png;base64,")
    data = base64.b64decode(uri.split(",", 1)[1], validate=True)
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def check_report(html: str, problems: list[str]) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    assert "script" not in page.tags
    assert len(page.images) == 1 + len(problems)  # the total and one chart per problem
    for img in page.images:
        w, h = png_size(img["src"])
        assert w > 100 and h > 100
        assert img.get("alt")
    assert "http://" not in html and "https://" not in html  # works offline
    return page


def test_batch_grades_stores_exports_and_reports(tmp_path):
    cls = make_class(tmp_path / "class")
    db, report, export = tmp_path / "g.db", tmp_path / "r.html", tmp_path / "g.csv"
    start = time.monotonic()
    result = batch(str(cls), "--db", str(db), "--workers", "2", "--report", str(report), "--export", str(export))
    assert result.exit_code == 0, result.output
    assert time.monotonic() - start < 60  # the timeout costs its own budget, not the batch's
    got = dict(rows(db, "SELECT st.name, r.score FROM submissions s JOIN students st ON st.id = s.student_id "
                        "JOIN grading_runs r ON r.id = s.current_run_id"))
    assert set(got) == set(CLASS)
    assert got["alice"] == got["<b>frank&amp;"] == 10.0
    assert 0 < got["bob"] < 10 and got["carol"] == got["dave"] == got["erin"] == 0.0
    assert {r[0] for r in rows(db, "SELECT source FROM submissions")} == {"batch"}
    stamped = rows(db, "SELECT submitted_at FROM submissions")
    assert {s[0][:19] for s in stamped} == {"2025-03-14 22:30:00"}  # the file's time, not the grading time
    assert "graded 6" in result.stdout
    with open(export, newline="", encoding="utf-8") as handle:
        exported = {r["student"]: r for r in csv.DictReader(handle)}
    assert set(exported) == set(CLASS) and exported["alice"]["total"] == "10"
    page = check_report(report.read_text(encoding="utf-8"), ["cube"])
    text = " ".join(page.text)
    assert "<b>frank&amp;" in text  # shown as text, not markup
    for section in ("Most common failing checks", "Diagnosed mistakes", "Slowest submissions",
                    "Crashes, timeouts and errors"):
        assert section in text
    assert "carol" in text and "dave" in text


def test_rerun_skips_graded_and_regrade_adds_runs(tmp_path):
    cls = make_class(tmp_path / "class", {k: CLASS[k] for k in ("alice", "bob", "erin")})
    db = tmp_path / "g.db"
    assert batch(str(cls), "--db", str(db)).exit_code == 0
    again = batch(str(cls), "--db", str(db))
    assert again.exit_code == 0 and "graded 0, skipped 3" in again.stdout
    assert rows(db, "SELECT count(*) FROM grading_runs") == [(3,)]
    (cls / "bob.py").write_text(CUBE)  # bob hands in a fix: a new submission of bob's, graded alone
    fixed = batch(str(cls), "--db", str(db))
    assert "graded 1, skipped 2" in fixed.stdout
    assert rows(db, "SELECT count(*) FROM submissions") == [(4,)]
    forced = batch(str(cls), "--db", str(db), "--regrade")
    assert "graded 3, skipped 0" in forced.stdout
    assert rows(db, "SELECT count(*) FROM submissions") == [(4,)]  # the same submissions, new runs
    assert rows(db, "SELECT count(*) FROM grading_runs") == [(7,)]


def test_batch_refuses_without_filesystem_confinement(tmp_path, monkeypatch):
    cls = make_class(tmp_path / "class", {"alice": CUBE})
    monkeypatch.setenv("GRADER_SANDBOX", "process")
    result = batch(str(cls), "--db", str(tmp_path / "g.db"))
    assert result.exit_code == 3, result.output
    assert "filesystem" in result.stderr
    if (tmp_path / "g.db").exists():
        assert rows(tmp_path / "g.db", "SELECT count(*) FROM submissions") == [(0,)]


def test_shared_plan_across_threads_matches_sequential_grading(tmp_path):
    cls = tmp_path / "class"
    cls.mkdir()
    for name in ("correct_vectorized", "correct_loops", "bug_softmax_loss", "bug_svm_loss",
                 "bug_two_layer", "correct_styles"):
        (cls / f"{name}.py").write_bytes((EXAMPLES / f"{name}.py").read_bytes())
    only = ["two_layer", "softmax_loss", "svm_loss"]
    reports = {}
    for workers in (1, 3):
        with discover(cls, assignment="hw2", problems_root=REPO / "problems") as roster:
            result = run_batch(roster, assignment="hw2", db_url=str(tmp_path / f"w{workers}.db"), workers=workers,
                               only=only)
        assert result.count("graded") == 6
        reports[workers] = {o.entry.student: [(p.id, p.score, [(c.name, c.passed, c.message, c.hint)
                                                                for c in p.checks]) for p in o.report.problems]
                            for o in result.outcomes}
    assert reports[1] == reports[3]
    with discover(cls, assignment="hw2", problems_root=REPO / "problems") as roster:
        result = run_batch(roster, assignment="hw2", db_url=str(tmp_path / "w3.db"), workers=2, only=only)
    check_report(class_report_html(result), only)


@pytest.mark.slow
def test_ctrl_c_keeps_finished_results_and_a_rerun_completes_the_rest(tmp_path):
    slow = ("import time\nimport numpy as np\n\ndef cube(x):\n    time.sleep(0.4)\n"
            "    x = np.asarray(x, dtype=float)\n    return float(np.sum(x ** 3)), 3 * x ** 2\n")
    cls = make_class(tmp_path / "class", {f"s{i:02d}": slow + f"# {i}\n" for i in range(14)})
    db = tmp_path / "g.db"
    argv = [sys.executable, "-m", "grader", "batch", str(cls), "--assignment", "hw_tiny", "--problems", str(PACKS),
            "--db", str(db), "--workers", "1"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    deadline = time.monotonic() + 120
    graded = 0
    while time.monotonic() < deadline:
        time.sleep(0.3)
        if db.exists():
            try:
                graded = rows(db, "SELECT count(*) FROM submissions WHERE status = 'graded'")[0][0]
            except sqlite3.OperationalError:
                continue
        if graded >= 3:
            break
    assert graded >= 3, proc.communicate(timeout=5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert b"interrupted" in err
    done = rows(db, "SELECT id FROM submissions WHERE status = 'graded'")
    left = rows(db, "SELECT id FROM submissions WHERE status = 'pending'")
    assert len(done) >= 3 and left, (done, left)  # finished results kept; the rest visibly pending
    assert len(done) + len(left) == 14
    runs_before = dict(rows(db, "SELECT submission_id, count(*) FROM grading_runs GROUP BY submission_id"))

    rerun = subprocess.run(argv, capture_output=True, timeout=180, cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr.decode()
    assert rows(db, "SELECT count(*) FROM submissions") == [(14,)]  # resumed, not recorded again
    assert rows(db, "SELECT count(*) FROM submissions WHERE status = 'graded'") == [(14,)]
    runs_after = dict(rows(db, "SELECT submission_id, count(*) FROM grading_runs GROUP BY submission_id"))
    assert all(runs_after[sid] == 1 for sid in runs_after)  # finished ones were not graded again
    assert set(runs_before) <= set(runs_after)
    with open_store(str(db)) as store:
        assert {store.get_report(sid).score for sid in runs_after} == {10.0}


@pytest.mark.slow
def test_report_renders_in_headless_chromium_when_installed(tmp_path):
    import shutil

    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.skip("no headless chromium here (optional: the report is also parsed by the other tests)")
    cls = make_class(tmp_path / "class", {k: CLASS[k] for k in ("alice", "bob", "erin")})
    report = tmp_path / "r.html"
    assert batch(str(cls), "--db", str(tmp_path / "g.db"), "--report", str(report)).exit_code == 0
    shot = tmp_path / "shot.png"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1200,1600",
                    f"--screenshot={shot}", report.as_uri()], capture_output=True, timeout=120, cwd=tmp_path)
    assert shot.exists(), "chromium wrote no screenshot"
    width, height = png_size("data:image/png;base64," + base64.b64encode(shot.read_bytes()).decode())
    assert (width, height) == (1200, 1600)
    from PIL import Image  # installed with matplotlib

    colours = Image.open(shot).convert("RGB").getcolors(maxcolors=1 << 16)
    assert colours is None or len(colours) > 50  # text and charts were drawn, not a blank page
