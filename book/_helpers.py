"""Helpers for the book's notebooks, not part of minigrad. Notebooks run with cwd = book/: `import _helpers`.

Conventions every chapter follows
---------------------------------
1. Explorers. A figure with controls is stated once, as a function of its parameters:

       def draw(kernel_size=3, stride=2):      # -> (matplotlib Figure or None, text)
           ...
           return fig, f"H_out = ... = {shapes.conv_transpose_output_size(...)}"

       _helpers.explorer(draw, {"kernel_size": range(1, 6), "stride": range(1, 5)},
                         base=dict(kernel_size=3, stride=2), together=("kernel_size", "stride"))

   In a live kernel (Jupyter, Binder, Colab, nbmake) it is an ipywidgets `interactive` over those values.
   When the book build executes the notebook (book/_book_build.py sets MINIGRAD_BOOK_BUILD=1), `draw`
   runs for every state of the grid and the page gets plain HTML controls over the precomputed frames and
   texts (book/_static/explorer.js swaps them: no kernel, no CDN). The text is the string `draw` returned
   at build time, never recomputed in the page. Without JavaScript the page shows the base state.
   Any other widget goes through `show_widget` with a static fallback; never display one yourself:

       _helpers.show_widget(lambda: widgets.interactive(f, k=(1, 5)), fallback=lambda: figure_or_list)

2. Animations: `_helpers.gif(fig, update, frames)`, not `animation.to_jshtml()`, whose buttons need a CDN.
3. Progress bars: `for batch in _helpers.progress(loader)`: a tqdm bar live, silent in the build.
4. Showing an error: `with _helpers.expect_error(ValueError): ...` prints "Type: message" and
   fails if nothing is raised, so no output ever holds a traceback.
5. Nothing goes to stderr, warnings included: the build runs with `stderr_output: warn` and -W, and
   tests/test_book_browser.py rejects stderr, traceback and widget outputs in the HTML.
"""
import base64
import contextlib
import html
import io
import itertools
import json
import numbers
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


MAX_EXPLORER_STATES = 2500  # each state is drawn at build time: a bound on the build's time and the page's size


def explorer_states(controls, base, together=()):
    """The states an explorer precomputes, `base` first: every combination of the controls named in
    `together`, then each other control alone, all the rest at `base`. controls: {name: values}."""
    names = list(controls)
    unknown = set(together) - set(names) or set(base) ^ set(names)
    if unknown:
        raise ValueError(f"explorer: {sorted(unknown)} must be named in controls, base and together alike")
    for name in names:
        if base[name] not in list(controls[name]):
            raise ValueError(f"explorer: base {name}={base[name]!r} is not one of its values")
    jointly = [name for name in names if name in together]
    groups = [jointly] + [[name] for name in names if name not in together]
    states, seen = [dict(base)], {tuple(base[name] for name in names)}
    for group in groups:
        for values in itertools.product(*(controls[name] for name in group)):
            state = dict(base, **dict(zip(group, values)))
            key = tuple(state[name] for name in names)
            if key not in seen:
                seen.add(key)
                states.append(state)
    return states


def explorer(draw, controls, base, together=(), dpi=72):
    """An interactive figure, stated once: `draw(**state)` returns (matplotlib Figure or None, text), the
    text a str (shown as preformatted text) or an IPython Markdown/HTML object. controls: {name: values}.
    Live: ipywidgets over those values, `draw` called at each move. Book build: `draw` runs for every state
    of `explorer_states(controls, base, together)` and the page gets HTML controls over the results."""
    if is_book_build():
        display(HTML(render_explorer(draw, controls, base, together, dpi)))
        return
    controls = {name: list(values) for name, values in controls.items()}
    explorer_states(controls, base, together)  # the same checks of the arguments as in the build
    display(_explorer_widget(draw, controls, base))


def render_explorer(draw, controls, base, together=(), dpi=72):
    """The HTML that the book build shows for `explorer(draw, controls, base, together)`: every state drawn."""
    controls = {name: list(values) for name, values in controls.items()}
    states = explorer_states(controls, base, together)
    if len(states) > MAX_EXPLORER_STATES:
        raise ValueError(f"explorer: {len(states)} states to draw, more than {MAX_EXPLORER_STATES}")
    drawn = []
    for state in states:
        visual, text = draw(**state)
        drawn.append((_png(visual, dpi), _text_html(text)))
    return explorer_html(controls, base, together, states, drawn)


def _explorer_widget(draw, controls, base):
    import ipywidgets as widgets

    def update(**state):
        visual, text = draw(**state)
        for item in (visual, text):
            if isinstance(item, str):
                print(item)
            elif item is not None:
                display(item)
            if isinstance(item, Figure):
                plt.close(item)

    def control(name, values):
        style = {"description_width": "initial"}
        whole = all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in values)
        if whole and values == list(range(values[0], values[-1] + 1)):
            return widgets.IntSlider(value=base[name], min=values[0], max=values[-1], description=name, style=style)
        options = [(_value_label(v), v) for v in values]
        if all(isinstance(v, numbers.Real) for v in values):
            return widgets.SelectionSlider(options=options, value=base[name], description=name, style=style)
        return widgets.Dropdown(options=options, value=base[name], description=name, style=style)

    return widgets.interactive(update, **{name: control(name, values) for name, values in controls.items()})


def _joined(names):
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _value_label(value):
    return f"{value:g}" if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral) else str(value)


def _png(visual, dpi):
    """A Figure as base64 PNG text (and closed), or None."""
    if visual is None:
        return None
    if not isinstance(visual, Figure):
        raise TypeError(f"explorer: draw must return a matplotlib Figure or None, not {type(visual).__name__}")
    buffer = io.BytesIO()
    visual.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    plt.close(visual)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _text_html(text):
    """An explorer's text as HTML: a str is preformatted; Markdown is rendered (tables included)."""
    if isinstance(text, str):
        return f'<pre class="explorer-formula">{html.escape(text, quote=False)}</pre>'
    if hasattr(text, "_repr_html_"):
        return text._repr_html_()
    if hasattr(text, "_repr_markdown_"):
        from markdown_it import MarkdownIt  # myst-parser's own parser: present wherever the book builds

        return MarkdownIt("commonmark").enable("table").render(text._repr_markdown_())
    raise TypeError(f"explorer: draw's text must be a str, Markdown or HTML, not {type(text).__name__}")


def explorer_html(controls, base, together, states, drawn):
    """The HTML of a built explorer: controls (shown by book/_static/explorer.js), the base state's frame
    and text, and in a JSON script every state (indices into each control's values), frame and text.
    drawn[i] = (base64 PNG or None, text HTML) for states[i]; states[0] is the base."""
    names = list(controls)
    frames, texts = {}, {}  # identical frames and texts are stored once: item -> its index
    shown = [[frames.setdefault(frame, len(frames)) if frame is not None else -1, texts.setdefault(text, len(texts))]
             for frame, text in drawn]
    data = {
        "controls": [{"name": name, "labels": [_value_label(v) for v in controls[name]]} for name in names],
        "states": [[controls[name].index(state[name]) for name in names] for state in states],
        "frames": list(frames), "texts": list(texts), "shown": shown,
    }
    rows = []
    for position, name in enumerate(names):
        values, at = controls[name], controls[name].index(base[name])
        label = html.escape(_value_label(base[name]))
        if all(isinstance(v, numbers.Real) for v in values):
            widget = (f'<input type="range" min="0" max="{len(values) - 1}" step="1" value="{at}" '
                      f'data-control="{position}" aria-label="{html.escape(name)}">')
        else:
            options = "".join(f'<option value="{i}"{" selected" if i == at else ""}>{html.escape(_value_label(v))}'
                              f"</option>" for i, v in enumerate(values))
            widget = f'<select data-control="{position}" aria-label="{html.escape(name)}">{options}</select>'
        rows.append(f'<label class="explorer-control"><span class="explorer-name">{html.escape(name)}</span>'
                    f'{widget}<output class="explorer-value">{label}</output></label>')
    setting = ", ".join(f"{name}={_value_label(base[name])}" for name in names)
    jointly, others = [n for n in names if n in together], [n for n in names if n not in together]
    if len(others) <= 1 and not (jointly and others):
        grid = "Every setting was drawn by minigrad when the book was built."
    else:
        grid = ("Drawn by minigrad when the book was built: "
                + (f"every combination of {_joined(jointly)}; " if jointly else "")
                + f"{_joined(others)} one at a time, from {setting}. Moving to a setting not drawn returns the "
                "other controls there.")
    frame = drawn[0][0] or next(iter(frames), None)  # a base state without a figure hides the image
    image = (f'<img class="explorer-frame" src="data:image/png;base64,{frame}" '
             f'alt="the figure for the chosen setting"{"" if drawn[0][0] else " hidden"}>') if frames else ""
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")  # a text cannot end the script
    return (f'<div class="explorer"><div class="explorer-controls" hidden>{"".join(rows)}'
            f'<p class="explorer-note">{html.escape(grid)}</p></div>'
            f'{image}<div class="explorer-text">{drawn[0][1]}</div>'
            f'<p class="fallback-note explorer-static">The setting {html.escape(setting)}: the controls '
            "that change it need JavaScript.</p>"
            f'<script type="application/json" class="explorer-data">{payload}</script></div>')


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
