"""Feedback pages of the example class, loaded in headless Chromium: they render, their images
load, nothing a student wrote runs, and no line of the hidden tests or the solutions is in them."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from class_helpers import example_class, make_class, relu_course  # noqa: F401
from relu_course import leaks, notebook
from relu_course.classroom import gradebook_url
from relu_course.feedback import page_path
from relu_course.gradebook import ClassGradebook

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER),
                                reason="needs Debian's chromium and chromium-driver (.ci/run installs them)")


@pytest.fixture(scope="module")
def pages(example_class):
    root, _, _ = example_class
    proc = relu_course("feedback", root)
    assert proc.returncode == 0, proc.stderr
    with ClassGradebook(gradebook_url(root)) as book:
        graded = book.graded()
    return {(g.student, g.assignment): (page_path(root / "feedback", g.student, g.assignment), g.result)
            for g in graded}


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1000,1400"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def loaded(pages, browser):
    """(student, assignment) -> what the browser saw: title, text, images, score, rows."""
    seen = {}
    for key, (path, _) in pages.items():
        browser.get(path.as_uri())
        seen[key] = browser.execute_script("""
            return {title: document.title, text: document.body.innerText, html: document.documentElement.outerHTML,
                    images: Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight]),
                    score: document.getElementById('score').innerText,
                    rows: document.querySelectorAll('tr.exercise-row').length,
                    height: document.body.scrollHeight};""")
    return seen


def test_every_page_renders_with_its_score_and_a_row_per_exercise(pages, loaded):
    for key, (path, result) in pages.items():
        page = loaded[key]
        assert page["title"].startswith(f"Feedback: {key[1]}")
        assert page["score"] == f"{result.score:g} / {result.max_score:g}"
        assert page["rows"] == len(result.exercises) and page["height"] > 200


def test_every_image_loads(pages, loaded):
    plotted = [key for key, page in loaded.items() if page["images"]]
    assert plotted, "some page of the example class has a plot"
    for key in plotted:
        assert all(complete and width > 100 and height > 100 for complete, width, height in loaded[key]["images"]), key


def test_a_failed_function_shows_its_smallest_failing_input_and_its_curve(pages, loaded):
    for key, (path, result) in pages.items():
        curves = [t.curve for e in result.exercises for t in e.tests if t.curve and t.curve.get("reference")]
        failed = [e for e in result.exercises if e.status != "passed" and any(t.details for t in e.tests)]
        for exercise in failed:
            first = next(t for t in exercise.tests if t.status != "passed")
            for value in first.details.values():
                assert value in loaded[key]["text"]
        assert len(loaded[key]["images"]) == len({e.name for e in result.exercises
                                                  if any(t.curve and t.curve.get("reference") for t in e.tests)})
        assert bool(curves) == bool(loaded[key]["images"])


def test_what_a_student_wrote_is_shown_never_run(pages, loaded):
    hostile = [key for key in pages if key[0] in make_class.HOSTILE_IDS]
    assert hostile
    for key in hostile:
        page = loaded[key]
        assert page["title"] != "pwned" and "pwned" not in page["title"]
        assert key[0] in page["text"]  # the id, as text
    messages = [key for key in hostile if make_class.HOSTILE_MESSAGE in loaded[key]["text"]]
    assert messages, "the exception whose message is markup is shown as text"


def strict_secrets(course) -> set[str]:
    """Every line worth comparing of the hidden tests and of the solutions' code: stricter than the
    release check, which lets single ordinary statements of the hidden tests through."""
    lines = set()
    for path in course.autograder.glob("*.py"):
        lines |= {t for line in path.read_text().splitlines() if (t := leaks.significant(line))}
    for assignment in course.assignment_ids():
        for cell in notebook.read(course.solution(assignment))["cells"]:
            if cell.get("cell_type") == "code" and notebook.nbgrader(cell).get("solution"):
                lines |= {t for line in notebook.source_of(cell).splitlines() if (t := leaks.significant(line))}
    return lines


def test_no_line_of_the_hidden_tests_or_the_solutions_is_in_a_page(course, pages, loaded):
    secret = strict_secrets(course)
    assert len(secret) > 100
    for key, page in loaded.items():
        seen = {line.strip() for line in page["text"].splitlines() + page["html"].splitlines()}
        assert not seen & secret, (key, seen & secret)
        source = Path(pages[key][0]).read_text()
        assert not {line.strip() for line in source.splitlines()} & secret
