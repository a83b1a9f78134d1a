"""The built book in headless Chromium: every chapter loads with no broken image, no error from our own
scripts, no stderr / traceback output, no unrendered widget, its math typeset by the book's own MathJax
(book/_static/mathjax), no raw TeX in the text, no list that cuts a sentence and no request to another
host; a screenshot of each lands in _build/screenshots/. The book is (re)built first when _build/html is missing or older than its sources.
On the explorers' pages every control is moved to a few values: the figure and the text must become the
ones minigrad computed for that state at build time (book/_helpers.py `explorer`), with no script error;
screenshots of the explorers land in _build/screenshots/ too.

Building executes every notebook (minutes), so the chapter tests run only with MINIGRAD_BROWSER_TESTS=1
(CI, where nbmake's run of the notebooks is then left out: see conftest.py); the audit's own tests
need only Chromium. With MINIGRAD_BROWSER_TESTS=1 a missing Chromium is a failure, not a skip.
"""
import base64
import html
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

import _book_build
import _helpers
from book_browser import Browser, audit_page, explore_page, find_chromium, serve

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
# --all: an incremental build would neither re-execute notebooks after a change to minigrad nor repeat
# the warnings of pages it does not re-read.
BUILD_COMMAND = ["jupyter-book", "build", "--all", "-W", "-n", "--keep-going", "."]
BUILD_TIMEOUT = 3600  # s: the build executes every notebook once
BUILD_MARKER = HTML / "searchindex.js"  # written at the end of a build
BOOK_SOURCES = ("_config.yml", "_toc.yml", "book/**/*", "minigrad/**/*.py")
# Hosts the HTML may ask for (the pages must read well without them). None: MathJax is served from
# book/_static/mathjax, the widget manager and require.js are switched off (nb_ipywidgets_js in _config.yml),
# and thebe (unpkg.com) loads only when a reader presses its button, which the audit never does.
KNOWN_CDNS = {}
MATHJAX = ROOT / "book" / "_static" / "mathjax"
STATIC = ROOT / "book" / "_static"
EXPLORER_PAGES = ["book/05_output_size", "book/06_padding", "book/08_checkerboard", "book/09_dcgan"]
GIF_1X1 = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def toc_pages(node=None):
    """Document names in reading order from _toc.yml (root first), whatever its nesting."""
    node = yaml.safe_load((ROOT / "_toc.yml").read_text()) if node is None else node
    if isinstance(node, list):
        return [page for child in node for page in toc_pages(child)]
    if not isinstance(node, dict):
        return []
    own = [node[key] for key in ("root", "file") if key in node]
    return own + [page for key in ("parts", "chapters", "sections") for page in toc_pages(node.get(key, []))]


def newest_source_mtime():
    paths = [path for pattern in BOOK_SOURCES for path in ROOT.glob(pattern)]
    return max(path.stat().st_mtime for path in paths if path.is_file() and "__pycache__" not in path.parts)


def ensure_built():
    """Build the book unless its HTML is newer than every source; on failure, fail listing the warnings."""
    if BUILD_MARKER.exists() and BUILD_MARKER.stat().st_mtime > newest_source_mtime():
        return
    import matplotlib.font_manager  # noqa: F401  (builds the font cache here, not in a notebook's stderr)

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    result = subprocess.run(BUILD_COMMAND, cwd=ROOT, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    if result.returncode != 0:
        BUILD_MARKER.unlink(missing_ok=True)  # so that the next run builds again
        lines = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr).splitlines()
        warnings = [line for line in lines if re.search(r"WARNING|ERROR", line) and "IPKernelApp" not in line]
        pytest.fail(f"`{' '.join(BUILD_COMMAND)}` failed (exit {result.returncode}):\n" + "\n".join(warnings[-40:]))


@pytest.fixture(scope="module")
def browser():
    executable = find_chromium()
    if executable is None:
        message = "no Chromium found (install chromium or set MINIGRAD_CHROMIUM)"
        if os.environ.get("MINIGRAD_BROWSER_TESTS") == "1":
            pytest.fail(message + " and MINIGRAD_BROWSER_TESTS=1 makes the browser tests mandatory")
        pytest.skip(message + ": browser tests skipped")
    with Browser(executable) as opened:
        yield opened


@pytest.fixture(scope="module")
def book_url(browser):
    if os.environ.get("MINIGRAD_BROWSER_TESTS") != "1":
        pytest.skip("building the book executes every notebook (minutes): set MINIGRAD_BROWSER_TESTS=1 (CI does)")
    ensure_built()
    with serve(HTML) as url:
        yield url


@pytest.mark.parametrize("page", toc_pages())
def test_chapter_renders_cleanly(browser, book_url, page):
    audit = audit_page(browser, f"{book_url}/{page}.html", SCREENSHOTS / f"{Path(page).name}.png")
    unknown_hosts = sorted({url.split("/")[2] for url in audit.external} - KNOWN_CDNS.keys())
    assert not audit.problems, f"{page}:\n  " + "\n  ".join(audit.problems)
    assert not unknown_hosts, f"{page} requests files from {unknown_hosts}; serve them from _static instead"


@pytest.mark.parametrize("page", EXPLORER_PAGES)
def test_explorer_follows_its_controls(browser, book_url, page):
    audit = explore_page(browser, f"{book_url}/{page}.html", SCREENSHOTS / f"explorer-{Path(page).name}")
    assert audit.explorers >= 1, f"{page} has no explorer (book/_helpers.py explorer)"
    assert not audit.problems, f"{page}:\n  " + "\n  ".join(audit.problems)


def write_site(directory, page):
    """A tiny site: `page` as index.html, a working image, a script that throws and the book's MathJax."""
    (directory / "index.html").write_text(page)
    (directory / "ok.gif").write_bytes(GIF_1X1)
    (directory / "broken.js").write_text("undefinedFunction();\n")
    (directory / "mathjax").symlink_to(MATHJAX)


# What Sphinx and myst-parser write: MathJax reads only .math elements; sections ignore the rest.
MATHJAX_HEAD = """<script>window.MathJax = {"options": {"processHtmlClass": "tex2jax_process|mathjax_process|math"}}
</script><script defer src="mathjax/tex-chtml-full.js"></script>"""

CLEAN_PAGE = """<!doctype html><html><head><link rel="icon" href="data:,">""" + MATHJAX_HEAD + """
<script src="https://cdn.example.org/lib.js"></script></head>
<body><article><section class="tex2jax_ignore mathjax_ignore"><img src="ok.gif">
<div class="cell_output"><div class="output stream"><pre>42 \\frac $x$ \\(</pre></div></div>
<p>Inline <span class="math notranslate nohighlight">\\(\\tfrac{1}{2} \\boxed{k} \\operatorname{gcd}(s, d)\\)
</span>, code <code>\\frac{a}{b}</code> and <code>$HOME</code>, prices $5 and $6, a range $5-$10, then three views:</p>
<ol><li>scatter</li><li>zero insertion</li></ol>
<div class="math notranslate nohighlight">\\[\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix} \\quad
\\left\\lfloor \\frac{i + 2p - k}{s} \\right\\rfloor + 1\\]</div>
<p>A sentence that ends with math, <span class="math notranslate nohighlight">\\(o = 2\\)</span>.</p>
<ul><li>a list after it</li></ul>
<div class="admonition note"><p class="admonition-title">Note</p><ul><li>a list after a title</li></ul></div>
</section></article></body></html>"""

BROKEN_PAGE = """<!doctype html><html><head><link rel="icon" href="data:,"><script src="broken.js"></script></head>
<body><img src="missing.png"><img src="ok.gif">
<div class="cell_output"><div class="output stderr"><pre>UserWarning: oops</pre></div></div>
<div class="cell_output"><div class="output traceback"><pre>ValueError  Traceback (most recent call last)</pre></div></div>
<div class="cell_output"><div class="output stream"><pre>Traceback (most recent call last):</pre></div></div>
<div class="cell_output"><div class="output text_html">
<script type="application/vnd.jupyter.widget-view+json">{"model_id": "0"}</script></div></div>
<p>Loading widget...</p><script>null.crash;</script></body></html>"""


def test_audit_passes_a_clean_page_and_lists_cdn_requests(browser, tmp_path):
    write_site(tmp_path, CLEAN_PAGE)
    with serve(tmp_path) as url:
        audit = audit_page(browser, f"{url}/index.html", tmp_path / "shot.png")
    assert audit.problems == []
    assert audit.external == ["https://cdn.example.org/lib.js"]  # MathJax came from our own origin
    assert (tmp_path / "shot.png").read_bytes().startswith(b"\x89PNG")


def assert_reported(problems, expected, exactly=False):
    """Each of `expected` (needle: what it stands for) is among `problems`; with `exactly`, nothing else is."""
    for needle, what in expected.items():
        assert any(needle in problem for problem in problems), f"{what} went unnoticed: {problems}"
    assert not exactly or len(problems) == len(expected), problems


def test_audit_reports_every_kind_of_problem(browser, tmp_path):
    write_site(tmp_path, BROKEN_PAGE)
    with serve(tmp_path) as url:
        problems = audit_page(browser, f"{url}/index.html").problems
    expected = {
        "image did not load: missing.png": "a missing image",
        "HTTP 404": "a request for one of our files that fails",
        "broken.js": "an exception thrown by one of our script files",
        "index.html: TypeError": "an exception thrown by an inline script",
        "stderr output: UserWarning": "a stderr output",
        "error output: ValueError": "a traceback output",
        "traceback in output: Traceback": "a traceback printed to stdout",
        "widget did not render": "a widget without a static fallback",
        "Loading widget...": "the widget placeholder text",
    }
    assert_reported(problems, expected, exactly=True)
    assert not any("ok.gif" in problem for problem in problems), problems


MATH_BROKEN_PAGE = """<!doctype html><html><head><link rel="icon" href="data:,">""" + MATHJAX_HEAD + """</head>
<body><article><section class="tex2jax_ignore mathjax_ignore">
<p>The size is $o = s(i - 1) + k$ here.</p>
<p>Then \\(x\\) leaks.</p>
<p>Half is a \\frac{1}{2}.</p>
<p>Split by markup: $a <em>b</em> c$.</p>
<p>Resize the image, then <em>convolve</em> it with stride</p>
<ol><li>Nearest-neighbour upsampling is itself a transposed convolution.</li></ol>
<p>A bullet list, say,</p>
<ul><li>breaks this sentence.</li></ul>
<p><span class="math notranslate nohighlight">\\(x^1^2\\)</span>
<span class="math notranslate nohighlight">\\(\\nosuchmacro{x}\\)</span></p>
</section></article></body></html>"""

UNTYPESET_PAGE = """<!doctype html><html><head><link rel="icon" href="data:,">
<script defer src="mathjax/missing.js"></script></head>
<body><p>Math: <span class="math notranslate nohighlight">\\(x^2\\)</span>.</p></body></html>"""


def test_audit_reports_raw_tex_and_lists_that_interrupt_a_sentence(browser, tmp_path):
    write_site(tmp_path, MATH_BROKEN_PAGE)
    with serve(tmp_path) as url:
        problems = audit_page(browser, f"{url}/index.html").problems
    expected = {
        'raw TeX in the text: $o = s(i - 1) + k$': "dollar math that myst did not parse",
        "raw TeX in the text: \\(": "a \\( delimiter in prose",
        "raw TeX in the text: \\frac": "a TeX command in prose",
        "raw TeX in the text: $a b c$": "dollar math split by markup",
        'convolve it with stride" then "1. Nearest-neighbour': "an ordered list that cuts a sentence",
        '"...A bullet list, say," then "- breaks': "a bullet list after a comma",
        "TeX error: ": "a TeX error",
        "undefined TeX macro: \\nosuchmacro": "an undefined macro",
    }
    assert_reported(problems, expected, exactly=True)


def test_audit_reports_math_that_mathjax_never_typeset(browser, tmp_path):
    write_site(tmp_path, UNTYPESET_PAGE)
    with serve(tmp_path) as url:
        problems = audit_page(browser, f"{url}/index.html").problems
    assert any("math not typeset: \\(x^2\\)" in problem for problem in problems), problems
    assert any("HTTP 404" in problem and "missing.js" in problem for problem in problems), problems
    assert len(problems) == 2, problems


def synthetic_draw(a, b, shape, n):
    # A figure whose colour depends on every control but `n`, none at all for a=3; the text names them all.
    if a == 3:
        return None, f"a=3 draws no figure (b={b}, shape={shape}, n={n})"
    fig = _helpers.plt.figure(figsize=(0.6, 0.4))
    fig.patch.set_facecolor((a / 3, b, 0.5 if shape == "square" else 0.9))
    return fig, f"a={a}, b={b}, shape='{shape}', n={n}: 1 < 2 & \"quoted\""


SYNTHETIC = dict(controls={"a": [1, 2, 3], "b": [0.25, 0.5, 1.0], "shape": ["square", "round"], "n": range(5)},
                 base=dict(a=2, b=0.5, shape="square", n=3), together=("a", "b"))


def explorer_site(directory, script=None):
    """A page holding the synthetic explorer, with the book's explorer.js (or `script` in its place)."""
    block = _helpers.render_explorer(synthetic_draw, dpi=20, **SYNTHETIC)
    (directory / "explorer.js").write_text(script or (STATIC / "explorer.js").read_text())
    (directory / "book.css").write_text((STATIC / "book.css").read_text())
    (directory / "index.html").write_text(
        '<!doctype html><html><head><link rel="icon" href="data:,"><link rel="stylesheet" href="book.css">'
        '<script src="explorer.js"></script></head><body><article><p>An explorer:</p>'
        f'<div class="cell_output"><div class="output text_html">{block}</div></div></article></body></html>')
    return block


def test_explorer_grid_is_every_combination_of_together_and_the_rest_one_at_a_time():
    states = _helpers.explorer_states(**SYNTHETIC)
    keys = [tuple(state.values()) for state in states]
    assert keys[0] == (2, 0.5, "square", 3) and len(set(keys)) == len(keys)
    assert len(states) == 3 * 3 + (2 - 1) + (5 - 1)  # a x b, then shape and n alone
    assert all(state["shape"] == "square" and state["n"] == 3 for state in states if state["a"] != 2)
    with pytest.raises(ValueError, match="not one of its values"):
        _helpers.explorer_states({"a": [1, 2]}, {"a": 3})
    with pytest.raises(ValueError, match="must be named"):
        _helpers.explorer_states({"a": [1, 2]}, {"a": 1}, together=("b",))


def test_explorer_without_javascript_shows_the_base_state(tmp_path):
    block = explorer_site(tmp_path)
    data = json.loads(re.search(r'class="explorer-data">(.*?)</script>', block).group(1).replace("<\\/", "</"))
    frame, text = data["shown"][0]
    assert f'src="data:image/png;base64,{data["frames"][frame]}"' in block
    assert f'<div class="explorer-text">{data["texts"][text]}</div>' in block
    assert html.escape("a=2, b=0.5, shape='square', n=3: 1 < 2", quote=False) in data["texts"][text]
    assert '<div class="explorer-controls" hidden>' in block and "need JavaScript" in block
    assert len(data["states"]) == len(data["shown"]) == 14 and data["shown"][-1][0] != -1
    assert sum(frame < 0 for frame, _ in data["shown"]) == 3  # a=3 with each b: no figure


def test_explorer_check_passes_an_explorer_that_follows_its_controls(browser, tmp_path):
    explorer_site(tmp_path)
    with serve(tmp_path) as url:
        audit = explore_page(browser, f"{url}/index.html", tmp_path / "shots" / "explorer")
        assert audit_page(browser, f"{url}/index.html").problems == []
    assert audit.explorers == 1 and audit.problems == []
    assert audit.moves == 3 + 3 + 2 + 4  # each control: last, first, middle (when not the base), base again
    shots = sorted(path.name for path in (tmp_path / "shots").iterdir())  # each control at its last value
    assert shots == [f"explorer-1-{name}.png" for name in sorted(SYNTHETIC["controls"])]
    assert all(path.read_bytes().startswith(b"\x89PNG") for path in (tmp_path / "shots").iterdir())


def test_explorer_check_reports_an_explorer_that_does_not_follow(browser, tmp_path):
    script = (STATIC / "explorer.js").read_text()
    broken = script.replace("text.innerHTML = data.texts[shownText];", "").replace(
        "data.frames[frame]", "data.frames[0]")
    assert broken.count("data.frames[0]") == 1 and "data.texts[shownText]" not in broken
    explorer_site(tmp_path, script=broken + "\nwindow.addEventListener('input', () => null.crash);\n")
    with serve(tmp_path) as url:
        problems = explore_page(browser, f"{url}/index.html").problems
    assert_reported(problems, {"the text is not the one computed": "a wrong text",
                               "the figure is not the frame computed": "a wrong frame",
                               "JavaScript error in": "a JavaScript error"})
    explorer_site(tmp_path, script="// no explorer script\n")
    with serve(tmp_path) as url:
        problems = explore_page(browser, f"{url}/index.html").problems
    assert problems == ["explorer 1: its controls were not switched on (book/_static/explorer.js)"]


def test_every_colab_setup_cell_clones_the_configured_repository(tmp_path):
    url, branch = _book_build.configured_repository()
    for notebook in sorted((ROOT / "book").glob("*.ipynb")):
        assert _book_build.setup_cell_problem(notebook, url, branch) is None, notebook.name
    copy = tmp_path / "chapter.ipynb"
    copy.write_text((ROOT / "book" / "02_minigrad.ipynb").read_text(encoding="utf-8"), encoding="utf-8")
    _book_build.write_setup_cell(copy, "https://example.org/fork", "draft")
    assert "clones https://example.org/fork (draft), not" in _book_build.setup_cell_problem(copy, url, branch)
    _book_build.write_setup_cell(copy, url, branch)
    assert copy.read_text(encoding="utf-8") == (ROOT / "book" / "02_minigrad.ipynb").read_text(encoding="utf-8")
