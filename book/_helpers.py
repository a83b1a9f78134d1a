"""Helpers for the book's notebooks, not part of minigrad. Notebooks run with cwd = book/: `import _helpers`.

Conventions every chapter follows
---------------------------------
1. Widgets. The HTML book is static: no kernel answers a slider, and the widget JavaScript would come
   from a CDN. So never display an ipywidget yourself; hand it to `show_widget` with a static fallback:

       _helpers.explore(draw, "stride", [1, 2, 3])        # draw(ax, stride=...) plots on one Axes

       _helpers.show_widget(lambda: widgets.interactive(f, k=(1, 5)),
                            fallback=lambda: _helpers.small_multiples(draw, "k", [1, 3, 5]))

   In a live kernel (Jupyter, Binder, Colab, nbmake) the widget is built and shown. When the book build
   executes the notebook (book/_book_build.py sets MINIGRAD_BOOK_BUILD=1), only the fallback is built:
   a matplotlib Figure, a list of them, or any IPython display object (`gif(...)` for motion).
2. Animations: `_helpers.gif(fig, update, frames)`, not `animation.to_jshtml()`, whose buttons need a CDN.
3. Progress bars: `for batch in _helpers.progress(loader)`: a tqdm bar live, silent in the build.
4. Showing an error: `with _helpers.expect_error(ValueError): ...` prints "ValueError: message" and
   fails if nothing is raised, so no output ever holds a traceback.
5. Nothing goes to stderr, warnings included: the build runs with `stderr_output: warn` and -W, and
   tests/test_book_browser.py rejects stderr, traceback and widget outputs in the HTML.
"""
import contextlib
import os
import tempfile

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import HTML, Image, display
from matplotlib.animation import FuncAnimation, PillowWriter
from matplotlib.figure import Figure

from _book_build import BUILD_ENV_VAR

import minigrad

FALLBACK_NOTE = (
    '<p class="fallback-note">A static view of an interactive figure: open this page in Binder or '
    "Colab (the rocket button at the top) to move the controls.</p>"
)


def is_book_build():
    """True while jupyter-book executes the notebook to make the static HTML."""
    return os.environ.get(BUILD_ENV_VAR) == "1"


def show_widget(make_widget, fallback):
    """Display `make_widget()` in a live kernel, or `fallback()` (Figure(s) or display objects) in the build."""
    if not is_book_build():
        display(make_widget())
        return
    shown = fallback()
    for item in shown if isinstance(shown, (list, tuple)) else [shown]:
        display(item)
        if isinstance(item, Figure):
            plt.close(item)  # the inline backend would otherwise show it a second time
    display(HTML(FALLBACK_NOTE))


def gif(fig, update, frames, fps=4):
    """Animate `update(frame)` on `fig` as an inline GIF: motion that needs no JavaScript. Closes `fig`."""
    animation = FuncAnimation(fig, update, frames=frames)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "animation.gif")
        animation.save(path, writer=PillowWriter(fps=fps))
        with open(path, "rb") as file:
            data = file.read()
    plt.close(fig)
    return Image(data=data, format="gif")


def progress(iterable, **tqdm_kwargs):
    """A tqdm progress bar in a live notebook; disabled in the build, where a widget would be an empty box."""
    from tqdm.auto import tqdm

    return tqdm(iterable, disable=is_book_build(), **tqdm_kwargs)


@contextlib.contextmanager
def expect_error(*error_types):
    """Run a block that must raise one of `error_types`; print "Type: message" instead of a traceback."""
    try:
        yield
    except error_types as error:
        print(f"{type(error).__name__}: {error}")
    else:
        raise AssertionError(f"expected {' or '.join(t.__name__ for t in error_types)}; nothing was raised")


def matrix_of(operator, input_hw):
    """The matrix of a linear map of 1-channel images: column k is operator(e_k), flattened,
    where e_k is the basis image with a single 1 at pixel k. All basis images go as one batch."""
    n = input_hw[0] * input_hw[1]
    basis = minigrad.tensor(np.eye(n).reshape(n, 1, *input_hw))  # image k is e_k
    return operator(basis).numpy().reshape(n, -1).T


def nyquist_share(image, stripes=False):
    """The share of an image's power (mean removed) in the (pi, pi) bin of its 2-D FFT: the
    checkerboard frequency; with `stripes`, also (pi, 0) and (0, pi). image: (H, W), H and W even."""
    power = np.abs(np.fft.fft2(image - image.mean())) ** 2
    h, w = image.shape[0] // 2, image.shape[1] // 2
    share = power[h, w] + (power[h, 0] + power[0, w] if stripes else 0)
    return share / power.sum()
