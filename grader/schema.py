"""Export the JSON Schema of the grading report (`grader.report.Report`).

    python -m grader.schema            # rewrite grader/report.schema.json
    python -m grader.schema --check    # exit 1 if the committed file is stale
    python -m grader.schema -          # print the schema to stdout

The committed file is what `grader submit --format json` output validates
against; `tests/test_core_cli.py` checks that it is up to date.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SCHEMA_PATH = Path(__file__).with_name("report.schema.json")


def _all_required(node: dict) -> None:
    """`model_dump_json` always writes every field, so in the schema of the
    output every property is required (defaults or not)."""
    if node.get("type") == "object" and "properties" in node:
        node["required"] = list(node["properties"])
    for child in node.get("$defs", {}).values():
        _all_required(child)


def schema() -> dict:
    """The JSON Schema of a serialized `Report` (what `--format json` prints)."""
    from grader.report import Report

    body = Report.model_json_schema(mode="serialization")
    _all_required(body)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **body}


def render() -> str:
    return json.dumps(schema(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    text = render()
    if args == ["-"]:
        sys.stdout.write(text)
        return 0
    if args == ["--check"]:
        current = SCHEMA_PATH.read_text(encoding="utf-8") if SCHEMA_PATH.is_file() else ""
        if current != text:
            print(f"{SCHEMA_PATH} is stale; run: python -m grader.schema", file=sys.stderr)
            return 1
        return 0
    if args:
        print("usage: python -m grader.schema [--check | -]", file=sys.stderr)
        return 2
    SCHEMA_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
