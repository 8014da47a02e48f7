"""The status report as a person sees it: rendered by the real role, opened in headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from png_pixels import read_png
from status_samples import two_sites

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium")
RED, GREEN = (0xD9, 0x30, 0x25), (0x1E, 0x8E, 0x3E)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="scripts/install-system-packages.sh installs chromium"
)


def render(tmp_path: Path, sites: list[dict[str, object]]) -> Path:
    """Run the status_report role on the controller, as playbooks/status.yml does."""
    data = tmp_path / "read.json"
    data.write_text(json.dumps({"status_sites_read": sites, "status_generated": "2026-12-01T21:05:00Z"}))
    role = {"role": "pbxops.wsfc.status_report", "status_report_dir": str(tmp_path / "out")}
    play = [{"name": "Write the report", "hosts": "localhost", "gather_facts": False, "roles": [role]}]
    playbook = tmp_path / "render.yml"
    playbook.write_text(json.dumps(play))
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    run = subprocess.run(
        [str(Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,", "-c", "local",
         "-e", f"ansible_python_interpreter={sys.executable}", "-e", f"@{data}", str(playbook)],
        capture_output=True, text=True, timeout=120, env=env, cwd=ROOT, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    return tmp_path / "out"


def chromium(page: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--no-first-run", "--window-size=1400,1600", *args, page.as_uri()],
        capture_output=True, text=True, timeout=90, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sites = two_sites()
    sites[1]["cluster"]["events"].append(  # type: ignore[index]
        {
            "time": "2026-12-01T20:00:00Z",
            "level": "Warning",
            "id": 1,
            "node": "x",
            "message": "<script>alert(1)</script>",
        }
    )
    return render(tmp_path_factory.mktemp("status"), sites)


def test_the_page_says_what_is_wrong_where_in_words(report: Path) -> None:
    dom = chromium(report / "status.html", "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert "<h1>Attention needed</h1>" in html
    # Each node is a coloured tile naming its state and the roles it runs.
    assert re.search(r'class="tile ok"><b>PBXA-N1</b><span>Up · runs PBX</span>', html)
    assert re.search(r'class="tile bad"><b>PBXB-N2</b><span>Down</span>', html)
    assert "at risk: one more failure loses it" in html and "2 of 3 votes, 2 needed" in html
    assert "phones registered" in html and "<b>3</b>" in html
    assert "was removed from the active failover cluster membership" in html
    # Values are text, never markup.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html


def test_the_screenshot_shows_red_for_the_problem_and_green_for_what_works(
    report: Path, tmp_path: Path
) -> None:
    shot = tmp_path / "status.png"
    taken = chromium(report / "status.html", f"--screenshot={shot}")
    assert taken.returncode == 0 and shot.exists(), taken.stderr[-2000:]
    shutil.copy(shot, report / "status.png")  # kept beside the report for a person to look at
    width, height, rows = read_png(shot)
    assert (width, height) == (1400, 1600)

    def near(pixel: tuple[int, int, int], colour: tuple[int, int, int]) -> bool:
        return all(abs(p - c) <= 6 for p, c in zip(pixel, colour, strict=True))

    # The banner across the top is red: a person sees at once that something needs attention.
    assert all(near(rows[10][x], RED) for x in range(0, width, 50))
    reds = sum(near(p, RED) for row in rows[100:] for p in row[::4])
    greens = sum(near(p, GREEN) for row in rows[100:] for p in row[::4])
    assert greens > 2000, "healthy nodes and roles are green tiles and badges"
    assert reds > 200, "the node that is down is a red tile"


def test_the_markdown_twin_holds_the_same_facts(report: Path) -> None:
    text = (report / "status.md").read_text(encoding="utf-8")
    assert text.startswith("# PBX status: Attention needed")
    assert "## site-b: PROBLEM" in text and "## site-a: OK" in text
    assert "| PBXB-N2 | Down |  |" in text
    assert "**Quorum:** at risk: one more failure loses it (2 of 3 votes, 2 needed" in text
    assert "| 100 | 201 | site-b | answered | 42 |" in text
    assert "| Cluster Disk 1 (witness) | PBXA-N1 | 1.0 GB | 512 MB | Online |" in text
    assert "&lt;script&gt;" in text and "<script>" not in text
