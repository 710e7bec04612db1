"""`repairbot bench report`: the Markdown and HTML of recorded result folders (rows written
here as `repairbot bench` writes them, some with the stage timings and stop reasons a newer
repairbot adds), and of a folder a real `repairbot bench quixbugs` run wrote."""

from __future__ import annotations

import base64
import json
import re
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import benchmarks.reviews
from benchmarks.bugs import patch_id
from benchmarks.evaluate import BugResult
from repairbot.errors import BadInput
from repairbot.cli import app
from tests.budgets import NEVER_S
from tests.test_benchmarks import checkout  # noqa: F401 (the QuixBugs-layout fixture)

HOSTILE = "<script>alert(1)</script>|x](javascript:alert(2))"
HOSTILE_PATCH = '--- a/p.py\n+++ b/p.py\n@@ -1 +1 @@\n-x = 1\n+x = "<img src="http://evil.example/x.png"></pre>```"\n'
GCD_PATCH = "--- a/gcd.py\n+++ b/gcd.py\n@@ -3 +3 @@\n-        return gcd(a % b, b)\n+        return gcd(b, a % b)\n"


def rows(changed: bool = False) -> list[dict[str, Any]]:
    """One run's rows; `changed`: the run compared with, where two outcomes differ."""
    gcd_localized = BugResult(
        "QuixBugs Python", "gcd", "localized", plausible=not changed, time_to_first_plausible_s=None if changed else 30.0,
        candidates_tried=10, total_s=40.0, top_patch="" if changed else GCD_PATCH,
        top_generator="" if changed else "infill", reference_patch=GCD_PATCH, locations_ranked=10, fault_rank=3,
    )
    sqrt = BugResult("QuixBugs Python", "sqrt", "given", error="" if changed else "the test suite timed out after 120 s",
                     plausible=changed, time_to_first_plausible_s=8.0 if changed else None,
                     candidates_tried=2 if changed else 0, total_s=9.0 if changed else 0.0,
                     top_patch=GCD_PATCH if changed else "", top_generator="template:operator" if changed else "")
    listed = [
        BugResult("QuixBugs Python", "gcd", "given", plausible=True, top_matches_reference=True,
                  time_to_first_plausible_s=12.0, candidates_tried=4, total_s=15.0, top_patch=GCD_PATCH,
                  top_generator="template:operator", reference_patch=GCD_PATCH),
        gcd_localized,
        BugResult("QuixBugs Python", HOSTILE, "given", plausible=True, time_to_first_plausible_s=50.0,
                  candidates_tried=5, total_s=60.0, top_patch=HOSTILE_PATCH, top_generator="masked",
                  reference_patch=HOSTILE_PATCH.replace("evil", "worse")),
        BugResult("QuixBugs Python", "bitcount", "localized", candidates_tried=20, total_s=300.0,
                  locations_ranked=10, fault_rank=None),
        sqrt,
        BugResult("examples Java", "ring_buffer", "localized", candidates_tried=3, total_s=20.0,
                  locations_ranked=4, fault_rank=None),
    ]
    written = [asdict(row) for row in listed]
    # What a newer repairbot adds to a row: seconds per stage, why the job stopped.
    written[3].update(stage_s={"reproduce": 12.5, "localize": 0.5, "validate": 280.0}, stopped="time budget spent")
    return written


def write_folder(folder: Path, listed: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True)
    (folder / "results.jsonl").write_text("".join(json.dumps(row) + "\n" for row in listed), encoding="utf-8")
    return folder


def report(*args: str) -> Any:
    result = CliRunner().invoke(app, ["bench", "report", *args])
    return result


def test_markdown_has_the_per_bug_rows_totals_and_localization(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "run", rows())
    result = report(str(folder))
    assert result.exit_code == 0, result.output
    md = (folder / "report.md").read_text()
    # Totals per suite and mode: bugs, not run, plausible, same, correct, median first plausible, s per candidate.
    given = "| QuixBugs Python | given | 3 | 1 | 2 | 1 | 1 | 31.0 | 8.33 | - |"
    localized = "| QuixBugs Python | localized | 2 | 0 | 1 | 0 | 0 | 30.0 | 11.33 | 14.00 |"
    assert given in md and localized in md
    assert given in result.stdout  # the totals are printed too
    # Two suites: the run's overall figures per mode, after the suites' own.
    assert "| all suites | localized | 3 | 0 | 1 | 0 | 0 | 30.0 | 10.91 | 14.00 |" in md
    assert md.index(localized) < md.index("| all suites | given | 3 | 1 | 2 | 1 | 1 | 31.0 | 8.33 | - |")
    # Per bug, with the rank, stage, stop and error columns some rows fill.
    assert "| QuixBugs Python | gcd | given | yes | yes | 12.0 | 4 | template:operator | 15.0 | - | - | - | - |" in md
    assert ("| QuixBugs Python | bitcount | localized | no | no | - | 20 | - | 300.0 | not in top 10 "
            "| reproduce 12.5, localize 0.5, validate 280.0 | time budget spent | - |") in md
    assert "| the test suite timed out after 120 s |" in md
    # Statement Top-1/3/5/10; a bug whose 4 locations missed the fault makes Top-5/10 lower bounds.
    assert "| QuixBugs Python | 2 | 0 | 1 | 1 | 1 |" in md
    assert "| examples Java | 1 | 0 | 0 | 0+ | 0+ |" in md
    assert "| all suites | 3 | 0 | 1 | 1+ | 1+ |" in md
    # The first patch beside the reference fix; the plot beside the Markdown.
    assert md.count(GCD_PATCH.rstrip("\n")) == 4  # gcd given and localized: patch and reference each
    assert (folder / "report.png").read_bytes().startswith(b"\x89PNG") and "](report.png)" in md


def test_defects4j_rows_checked_against_the_whole_suite_get_a_column_and_a_total(tmp_path: Path) -> None:
    listed = [
        BugResult("Defects4J Lang", "Lang-6", "given", plausible=True, top_matches_reference=True,
                  time_to_first_plausible_s=40.0, candidates_tried=8, total_s=50.0, top_patch=GCD_PATCH,
                  full_suite="pass; set aside (failing on the fixed version too): a.BTest#c", full_suite_s=200.0),
        BugResult("Defects4J Lang", "Lang-1", "given", plausible=True, time_to_first_plausible_s=90.0,
                  candidates_tried=12, total_s=100.0, top_patch=GCD_PATCH, full_suite="fail: breaks a.DTest#e"),
        BugResult("Defects4J Lang", "Lang-3", "given", candidates_tried=20, total_s=300.0),
    ]
    folder = write_folder(tmp_path / "run", [asdict(row) for row in listed])
    assert report(str(folder)).exit_code == 0
    md = (folder / "report.md").read_text()
    assert "| Defects4J Lang | given | 3 | 0 | 2 | 1 | 1 | 1 | 65.0 | 11.25 | - |" in md  # 1 of 2 on the whole suite
    assert "| 50.0 | pass; set aside (failing on the fixed version too): a.BTest#c |" in md
    assert "| 300.0 | - |" in md


def test_publish_keeps_the_numbers_and_drops_the_benchmarks_code(tmp_path: Path) -> None:
    """A Defects4J run outlives its machine only as a published copy: every row's numbers,
    none of the patches (they quote the benchmark's code), the last row of a rerun, and a
    report that says the patches were left out. The copy is a folder a new run resumes from."""
    listed = rows()
    listed[4]["error"] = "setup: javac: Foo.java:3: error\n    int x = secret();\n"
    rerun = dict(listed[0], total_s=16.0)  # gcd given, written again by a rerun
    folder = write_folder(tmp_path / "run", [*listed, rerun])
    result = CliRunner().invoke(app, ["bench", "publish", str(folder), "--to", str(tmp_path / "shared")])
    assert result.exit_code == 0, result.output
    published = [json.loads(line) for line in (tmp_path / "shared" / "results.jsonl").read_text().splitlines()]
    assert len(published) == len(listed)  # one row per bug and mode
    text = json.dumps(published)
    assert "gcd(b, a % b)" not in text and "evil.example" not in text and "secret()" not in text
    assert published[-1]["bug"] == "gcd" and published[-1]["total_s"] == 16.0  # the rerun's row, moved last
    assert [r["plausible"] for r in published] == [r["plausible"] for r in [*listed[1:], rerun]]
    assert published[3]["error"] == "setup: javac: Foo.java:3: error"
    assert published[0]["fault_rank"] == 3 and published[2]["stage_s"]["validate"] == 280.0
    md = (tmp_path / "shared" / "report.md").read_text()
    assert "| QuixBugs Python | given | 3 | 1 | 2 | 1 | 1 | 31.0 |" in md  # the same totals as the full run's
    assert "The patches were left out of this copy" in md and "gcd(b, a % b)" not in md
    refused = CliRunner().invoke(app, ["bench", "publish", str(folder), "--to", str(folder)])
    assert refused.exit_code != 0 and "would lose the patches" in refused.output


def test_markdown_escapes_a_hostile_bug_name_and_patch(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "run", rows())
    assert report(str(folder)).exit_code == 0
    md = (folder / "report.md").read_text()
    assert "<script>" not in md and not re.search(r"(?<!\\)\]\(javascript", md)  # no tag, no link
    assert r"&lt;script&gt;alert(1)&lt;/script&gt;\|x\](javascript:alert(2))" in md
    # A patch with a triple backtick sits in a longer fence: it cannot close the block.
    assert '````diff\n--- a/p.py' in md and '</pre>```"\n````' in md


def test_html_is_self_contained_with_the_plot_embedded_and_everything_escaped(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "run", rows())
    out = tmp_path / "pages" / "q"
    assert report(str(folder), "--out", str(out)).exit_code == 0
    page = (tmp_path / "pages" / "q.html").read_text()
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.IGNORECASE)
    assert "<link" not in page and "@import" not in page and "url(" not in page
    [image] = re.findall(r'<img [^>]*src="([^"]*)"', page)
    assert image.startswith("data:image/png;base64,")
    assert base64.b64decode(image.removeprefix("data:image/png;base64,")).startswith(b"\x89PNG")
    # The hostile name and patch are text: no tag of theirs reaches the page.
    assert "<script" not in page and "evil.example/x.png\">" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;|x](javascript:alert(2))" in page
    assert "&lt;img src=&quot;http://evil.example/x.png&quot;&gt;&lt;/pre&gt;" in page
    assert "worse.example" in page  # its reference fix, beside it


def test_compare_marks_the_outcomes_that_changed_and_the_totals_delta(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "new", rows())
    other = write_folder(tmp_path / "old", rows(changed=True))
    result = report(str(folder), "--compare", str(other))
    assert result.exit_code == 0, result.output
    md = (folder / "report.md").read_text()
    assert "**gcd** | **localized** | **plausible** | **no patch** | **30.0** | **-** | **changed** |" in md
    assert "**sqrt** | **given** | **not run** | **plausible** | **-** | **8.0** | **changed** |" in md
    assert "| QuixBugs Python | gcd | given | same as reference | same as reference | 12.0 | 12.0 |  |" in md
    # plausible, same and correct: this, other, delta each; median first plausible this, other.
    assert "| QuixBugs Python | localized | 1 | 0 | +1 | 0 | 0 | +0 | 0 | 0 | +0 | 30.0 | - |" in md
    assert "| QuixBugs Python | given | 2 | 3 | -1 | 1 | 1 | +0 | 1 | 1 | +0 | 31.0 | 12.0 |" in md
    page = (folder / "report.html").read_text()
    changed = re.findall(r'<tr class="changed">(.*?)</tr>', page)
    assert len(changed) == 2 and "<td>gcd</td><td>localized</td>" in changed[0] and "<td>sqrt</td>" in changed[1]
    assert "2 of 6 outcomes changed" in page


def test_bad_folders_and_a_missing_matplotlib_are_one_line_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = report(str(empty))
    assert result.exit_code == 2 and "holds no results.jsonl" in result.output
    assert report(str(tmp_path / "nowhere")).exit_code == 2
    broken = write_folder(tmp_path / "broken", rows()[:1])
    with (broken / "results.jsonl").open("a") as out:
        out.write('{"suite": "s"}\n')
    result = report(str(broken))
    assert result.exit_code == 2 and "results.jsonl:2: not a result row" in result.output
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # an import of it fails, as when not installed
    folder = write_folder(tmp_path / "run", rows())
    result = report(str(folder))
    assert result.exit_code == 2 and "pip install 'repairbot[bench]'" in result.output
    assert not (folder / "report.md").exists()


def test_report_of_a_real_quixbugs_run(checkout: Path, tmp_path: Path) -> None:  # noqa: F811
    out = tmp_path / "results"
    run = CliRunner().invoke(app, [
        "bench", "quixbugs", "--path", str(checkout), "--out", str(out), "--generators", "templates",
        "--time-budget", f"{NEVER_S:g}",
    ])
    assert run.exit_code == 0, run.output
    written = {row["mode"]: row for row in map(json.loads, (out / "results.jsonl").read_text().splitlines())}
    # The reference fix's diff, and where localization ranked its faulty `if` (Ochiai 1.0: only
    # the two failing tests run it).
    assert "-        if n % 2 == 1:\n+        if n % 2 == 0:\n" in written["given"]["reference_patch"]
    assert written["localized"]["fault_rank"] == 1 and written["localized"]["locations_ranked"] >= 1
    assert written["given"]["locations_ranked"] == 0
    result = report(str(out))
    assert result.exit_code == 0, result.output
    md = (out / "report.md").read_text()
    for mode in ("localized", "given"):
        assert f"| QuixBugs Python | {mode} | 1 | 0 | 1 |" in md
    assert re.search(r"\| QuixBugs Python \| count\\_evens \| localized \| yes \| (yes|no) \| [\d.]+ \| \d+ "
                     r"\| template:[\w-]+ \| [\d.]+ \| 1 \|", md)
    assert "| QuixBugs Python | 1 | 1 | 1 | 1 | 1 |" in md
    assert "-        if n % 2 == 1:" in (out / "report.html").read_text()


def test_a_reviewed_equivalent_counts_as_correct_and_shows_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A plausible top patch that is not the reference fix's text but a review lists (by its
    patch id, for that suite and bug) counts as correct beside the reference matches; the
    same patch of another bug, or another patch of the bug, does not."""
    ident = patch_id({"gcd.py": "def gcd(a, b):\n    return a if b == 0 else gcd(b, a % b)\n"})
    reviews = tmp_path / "reviews.toml"
    reviews.write_text(f'[[equivalent]]\nsuite = "QuixBugs Python"\nbug = "gcd"\npatch = "{ident}"\n'
                       'why = "the recursion written as one conditional expression"\n')
    monkeypatch.setattr(benchmarks.reviews, "REVIEWS", reviews)
    listed = [
        BugResult("QuixBugs Python", "gcd", "localized", plausible=True, time_to_first_plausible_s=9.0,
                  candidates_tried=3, total_s=10.0, top_patch_id=ident),
        BugResult("QuixBugs Python", "lcm", "localized", plausible=True, time_to_first_plausible_s=9.0,
                  candidates_tried=3, total_s=10.0, top_patch_id=ident),
        BugResult("QuixBugs Python", "gcd", "given", plausible=True, time_to_first_plausible_s=9.0,
                  candidates_tried=3, total_s=10.0, top_patch_id="0" * 16),
    ]
    folder = write_folder(tmp_path / "run", [asdict(row) for row in listed])
    assert report(str(folder)).exit_code == 0
    md = (folder / "report.md").read_text()
    assert "| QuixBugs Python | localized | 2 | 0 | 2 | 0 | 1 | 9.0 |" in md  # plausible 2, same 0, correct 1
    assert "| QuixBugs Python | given | 1 | 0 | 1 | 0 | 0 | 9.0 |" in md
    assert "| QuixBugs Python | gcd | localized | yes | equivalent (reviewed) |" in md
    assert "| QuixBugs Python | gcd | localized | the recursion written as one conditional expression |" in md


def test_a_patch_id_names_one_program_whatever_its_layout() -> None:
    one = patch_id({"m.py": "def f(x):\n    return x + 1  # next\n"})
    assert one == patch_id({"m.py": "def f(x):\n    return (x + 1)\n"}) and len(one) == 16
    assert one != patch_id({"m.py": "def f(x):\n    return x + 2\n"})
    assert one != patch_id({"n.py": "def f(x):\n    return x + 1\n"})


def test_the_shipped_reviews_read_and_a_bad_one_is_a_clear_error(tmp_path: Path) -> None:
    for (suite, bug, patch), why in benchmarks.reviews.reviewed().items():
        assert suite.startswith(("QuixBugs", "Defects4J")) and bug and len(patch) == 16 and len(why) > 20
    bad = tmp_path / "bad.toml"
    bad.write_text('[[equivalent]]\nsuite = "QuixBugs Python"\nbug = "gcd"\n')
    with pytest.raises(BadInput, match="review 1 needs a non-empty suite, bug, patch, why"):
        benchmarks.reviews.reviewed(bad)
