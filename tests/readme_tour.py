"""Run README.md's tour as a person following it would, and compare or rewrite the outputs it shows.

Every ```console block from "## A tour" up to "## Import your history" is run in order, in one shell,
from a copy of examples/, against a fresh database, with SESSIONSTATS_TZ=Europe/Paris and 100 columns.
A `$ ` line is a command; the lines after it, up to the next command or the block's end, are what it
prints (stdout and stderr as they interleave). Ids, durations and versions are masked before comparing.

    python tests/readme_tour.py            # say which blocks differ
    python tests/readme_tour.py --update   # rewrite README.md's outputs from a real run (as cog does)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
START, END = "\n## A tour\n", "\n## Import your history\n"
BLOCK = re.compile(r"^```console\n(.*?)^```\n", re.S | re.M)
MARK = "@@sessionstats-tour-step@@"
MASKS = [
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}\b"), "<id>"),
    (re.compile(r"\bin \d+\.\d s\b"), "in <n> s"),
    (re.compile(r"genai-prices \d+\.\d+\.\d+"), "genai-prices <version>"),
]


@dataclass
class Step:
    command: str
    shown: str  # the output the README shows
    line: int  # the README line of the command


def steps(readme: str) -> list[Step]:
    """The tour's commands in order, each with the output the README shows for it."""
    start, end = readme.index(START), readme.index(END)
    found = []
    for block in BLOCK.finditer(readme, start, end):
        text, first_line, offset = block.group(1), readme.count("\n", 0, block.start(1)) + 1, 0
        for part in re.split(r"^(?=\$ )", text, flags=re.M):
            if part.startswith("$ "):
                command, _, shown = part.partition("\n")
                found.append(Step(command.removeprefix("$ "), shown, first_line + text.count("\n", 0, offset)))
            offset += len(part)
    return found


def run(tour: list[Step], workdir: Path, bin_dir: Path) -> list[str]:
    """Run every step in one bash, from a copy of examples/, and return what each printed."""
    shutil.copytree(ROOT / "examples", workdir / "examples", dirs_exist_ok=True)
    home = workdir / "home"
    home.mkdir(exist_ok=True)
    env = {"PATH": f"{bin_dir}{os.pathsep}/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
           "SESSIONSTATS_DB": str(workdir / "tour.duckdb"), "SESSIONSTATS_TZ": "Europe/Paris",
           "TZ": "Europe/Paris", "COLUMNS": "100", "PYTHONUNBUFFERED": "1", "SESSIONSTATS_USER": "reader",
           "XDG_DATA_HOME": str(home)}
    script = "exec 2>&1\ncd examples\n" + "".join(f"{step.command}\necho {MARK}\n" for step in tour)
    done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=300,
                          cwd=workdir)
    outputs = done.stdout.split(MARK + "\n")
    return outputs[:len(tour)] + [""] * (len(tour) - len(outputs[:len(tour)]))


def masked(text: str) -> str:
    for pattern, replacement in MASKS:
        text = pattern.sub(replacement, text)
    return text


def differences(tour: list[Step], outputs: list[str]) -> list[str]:
    """One message per step whose output is not what the README shows."""
    return [f"README.md line {step.line}: `{step.command}` printed\n{out}instead of\n{step.shown}"
            for step, out in zip(tour, outputs, strict=True) if masked(out) != masked(step.shown)]


def rewritten(readme: str, outputs: list[str]) -> str:
    """README.md with each tour command's shown output replaced by what it printed."""
    start, end = readme.index(START), readme.index(END)
    produced = iter(outputs)

    def kept_or_new(part: str) -> str:
        command, _, shown = part.partition("\n")
        out = next(produced)  # an output that differs only in ids and timings keeps the README's text
        return command + "\n" + (shown if masked(out) == masked(shown) else out)

    def block(match: re.Match) -> str:
        parts = [part for part in re.split(r"^(?=\$ )", match.group(1), flags=re.M) if part]
        return "```console\n" + "".join(kept_or_new(part) for part in parts) + "```\n"

    return readme[:start] + BLOCK.sub(block, readme[start:end]) + readme[end:]


def main() -> int:
    readme = README.read_text()
    tour = steps(readme)
    with tempfile.TemporaryDirectory() as workdir:
        outputs = run(tour, Path(workdir), Path(sys.executable).parent)
    if "--update" in sys.argv:
        README.write_text(rewritten(readme, outputs))
        print(f"rewrote the outputs of {len(tour)} tour commands in README.md", file=sys.stderr)
        return 0
    problems = differences(tour, outputs)
    print("\n".join(problems) or f"all {len(tour)} tour commands print what README.md shows", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
