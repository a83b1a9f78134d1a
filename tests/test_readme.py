"""The README's quickstart runs as shown and prints what its comments promise."""
import contextlib
import io
import pathlib
import re


def test_readme_quickstart_runs():
    text = pathlib.Path(__file__).parents[1].joinpath("README.md").read_text()
    code = re.search(r"## minigrad in ten lines\n\n```python\n(.*?)```", text, re.S).group(1)
    assert len(code.strip().splitlines()) <= 12
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    assert out.getvalue().splitlines() == ["(1, 1, 4, 4) (1, 1, 2, 2)", "(1, 1, 2, 2)"]
