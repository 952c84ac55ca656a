"""README.md's tour runs word for word and prints what it shows (tests/readme_tour.py --update rewrites it)."""

import sys
from pathlib import Path

import readme_tour


def test_every_tour_command_prints_what_the_readme_shows(tmp_path):
    tour = readme_tour.steps(readme_tour.README.read_text())
    assert len(tour) > 25
    outputs = readme_tour.run(tour, tmp_path, Path(sys.executable).parent)
    problems = readme_tour.differences(tour, outputs)
    assert not problems, "\n\n".join(problems) + "\n\n(python tests/readme_tour.py --update rewrites them)"


def test_a_changed_output_is_reported_with_its_readme_line():
    readme = readme_tour.README.read_text()
    tour = readme_tour.steps(readme)
    outputs = [step.shown for step in tour]
    changed = next(i for i, step in enumerate(tour) if step.command.startswith("sessionstats show nope"))
    outputs[changed] = "something else\n"
    (problem,) = readme_tour.differences(tour, outputs)
    assert problem.startswith(f"README.md line {tour[changed].line}: `sessionstats show nope")
    assert readme.splitlines()[tour[changed].line - 1].startswith("$ sessionstats show nope")


def test_ids_and_timings_are_masked_but_figures_are_not():
    assert readme_tour.masked("01a20db6-eb22-70e6-a4a9-067ea969acbd in 0.3 s") == "<id> in <n> s"
    assert readme_tour.masked("$0.0644 18,966") == "$0.0644 18,966"


def test_the_update_rewrites_outputs_and_keeps_everything_else():
    readme = readme_tour.README.read_text()
    tour = readme_tour.steps(readme)
    assert readme_tour.rewritten(readme, [step.shown for step in tour]) == readme
