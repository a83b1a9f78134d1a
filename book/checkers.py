"""Checkers for the exercises of book/10_exercises.ipynb.

Each checker runs a student's code on a fixed list of cases against minigrad's own implementation
and stops at the first wrong case, saying in plain words what is wrong: the case's settings, the
index, the expected and the obtained number, or the wrong shape. When everything is right it prints
"all N cases pass" and returns True. Otherwise it raises AssertionError with that message, or, with
raise_on_failure=False, prints the message and returns False (so a notebook with a stub still runs).
"""
import numpy as np

from minigrad import Tensor, shapes
from minigrad.nn import functional as F
from minigrad.testing import gradcheck

__all__ = ["check_conv_transpose2d", "check_conv_transpose2d_backward", "check_output_size", "check_function"]


class _Wrong(Exception):
    """One wrong case; its message is what the student reads."""


def _run(name, cases, check_case, raise_on_failure):
    """Check every case in order; report the first wrong one or 'all N cases pass'."""
    try:
        for case in cases:
            check_case(case)
    except _Wrong as wrong:
        message = f"{name}: {wrong}"
        if raise_on_failure:
            raise AssertionError(message) from None
        print(message)
        return False
    print(f"{name}: all {len(cases)} cases pass")
    return True


def _call(case, function, *args, **kwargs):
    """Run student code; its exceptions become a readable report instead of a traceback."""
    try:
        return function(*args, **kwargs)
    except NotImplementedError:
        raise _Wrong("not implemented yet: your code raised NotImplementedError. Replace the stub's "
                     "`raise NotImplementedError` with your implementation and run the check again.") from None
    except Exception as error:  # any bug in student code is reported, not raised
        raise _Wrong(f"case {case}: your code raised {type(error).__name__}: {error}") from None


def _compare(what, expected, got, case, mistakes=(), at=None, atol=1e-8, rtol=1e-6):
    """Fail unless got == expected; name a known mistake if got matches one.

    mistakes: (explanation, make_wrong_answer) pairs, tried only when got is wrong.
    at(index): extra words about an index (e.g. the input value there)."""
    if not hasattr(got, "shape"):
        raise _Wrong(f"case {case}: {what} should be an array, got {type(got).__name__}")
    got = got.numpy() if isinstance(got, Tensor) else np.asarray(got)
    if got.shape != expected.shape:
        raise _Wrong(f"case {case}: {what} has the wrong shape: expected {expected.shape}, got {got.shape}")
    close = np.isclose(got, expected, atol=atol, rtol=rtol)
    if close.all():
        return
    for explanation, make_wrong_answer in mistakes:
        if np.allclose(got, make_wrong_answer(), atol=atol, rtol=rtol):
            raise _Wrong(f"case {case}: {what} is wrong: {explanation}")
    index = tuple(int(i) for i in np.argwhere(~close)[0])
    where = f" ({at(index)})" if at else ""
    raise _Wrong(f"case {case}: {what} is wrong at index {index}{where}: expected {expected[index]:.6g}, "
                 f"got {got[index]:.6g} ({int((~close).sum())} of {close.size} entries differ)")


# ---- transposed convolution ----------------------------------------------------------------
_CONV_CASES = [  # x shape, C_out, kernel, then the settings that differ from the defaults
    ((1, 1, 3, 3), 1, (1, 1), {}),
    ((1, 1, 3, 3), 1, (3, 3), {}),
    ((2, 2, 3, 4), 3, (3, 3), {"stride": (2, 2)}),
    ((1, 2, 4, 4), 2, (4, 4), {"stride": (2, 2), "padding": (1, 1)}),
    ((1, 1, 3, 3), 2, (3, 3), {"stride": (2, 2), "padding": (1, 1), "output_padding": (1, 1)}),
    ((1, 2, 3, 3), 1, (3, 3), {"dilation": (2, 2)}),
    ((1, 2, 3, 3), 2, (3, 3), {"stride": (2, 2), "dilation": (2, 2), "padding": (2, 2)}),
    ((1, 4, 3, 3), 2, (2, 2), {"stride": (2, 2), "groups": 2}),
    ((1, 3, 3, 3), 3, (3, 3), {"stride": (2, 2), "groups": 3}),
    ((2, 2, 3, 5), 3, (2, 3), {"stride": (3, 1), "padding": (0, 1), "output_padding": (2, 0), "dilation": (1, 2)}),
]
_SETTINGS = {"stride": (1, 1), "padding": (0, 0), "output_padding": (0, 0), "dilation": (1, 1), "groups": 1}


def _conv_cases(dtypes):
    """(description, x, w, settings) for every case and dtype, with fixed random numbers."""
    cases = []
    for dtype in dtypes:
        for number, (x_shape, c_out, kernel, changed) in enumerate(_CONV_CASES):
            rng = np.random.default_rng(number)
            settings = {**_SETTINGS, **changed}
            w_shape = (x_shape[1], c_out // settings["groups"], *kernel)
            x, w = (_random(rng, shape, dtype) for shape in (x_shape, w_shape))
            description = ", ".join([f"x: {x_shape}", f"w: {w_shape}"] +
                                    [f"{k}={v}" for k, v in changed.items()] + [np.dtype(dtype).name])
            cases.append((description, x, w, settings))
    return cases


def _random(rng, shape, dtype):
    values = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        values = values + 1j * rng.standard_normal(shape)
    return values.astype(dtype)


def _reference_forward(x, w, settings):
    return F.conv_transpose2d(Tensor(x), Tensor(w), **settings).numpy()


def _reference_backward(grad_output, x, w, settings):
    x, w = Tensor(x, requires_grad=True), Tensor(w, requires_grad=True)
    F.conv_transpose2d(x, w, **settings).backward(Tensor(grad_output))
    return x.grad.numpy(), w.grad.numpy()


def check_conv_transpose2d(student_fn, raise_on_failure=True):
    """student_fn(x, w, stride=, padding=, output_padding=, dilation=, groups=) -> y, on NumPy arrays:
    x: (N, C_in, H, W), w: (C_in, C_out/groups, kH, kW) -> y: (N, C_out, H_out, W_out), no bias.
    stride, padding, output_padding, dilation are (height, width) pairs. Compared with
    minigrad.nn.functional.conv_transpose2d on real and complex cases."""
    def check(case):
        description, x, w, settings = case
        got = _call(description, student_fn, x.copy(), w.copy(), **settings)
        _compare("the output", _reference_forward(x, w, settings), got, description)

    return _run("check_conv_transpose2d", _conv_cases([np.float64, np.complex128]), check, raise_on_failure)


def check_conv_transpose2d_backward(student_fn, raise_on_failure=True):
    """student_fn(grad_output, x, w, stride=, padding=, output_padding=, dilation=, groups=) ->
    (grad_x, grad_w), the gradients of y = conv_transpose2d(x, w, ...) given grad_output = dL/dy
    (shaped like y). Real cases first, then complex ones, where PyTorch's convention applies:
    grad_x = dL/dx is built with the conjugate of w, grad_w with the conjugate of x."""
    def check(case):
        description, x, w, settings = case
        grad_output = _random(np.random.default_rng(99), _reference_forward(x, w, settings).shape, x.dtype)
        got = _call(description, student_fn, grad_output.copy(), x.copy(), w.copy(), **settings)
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise _Wrong(f"case {description}: return the pair (grad_x, grad_w), got {type(got).__name__}")
        expected = _reference_backward(grad_output, x, w, settings)
        unconjugated = lambda: _reference_backward(grad_output, x.conj(), w.conj(), settings)  # noqa: E731
        flipped_w = np.ascontiguousarray(w[:, :, ::-1, ::-1])
        no_conjugate = ("it is the gradient without the complex conjugate. PyTorch's (and minigrad's) "
                        "convention is grad * conj(f'(x)): use w.conj() for grad_x and x.conj() for grad_w.")
        mistakes = [
            [(no_conjugate, lambda: unconjugated()[0]),
             ("it is the right answer computed with the kernel flipped (w[:, :, ::-1, ::-1]). The adjoint "
              "of scattering with w is gathering (correlating) with the same w: no flip.",
              lambda: _reference_backward(grad_output, x, flipped_w, settings)[0])],
            [(no_conjugate, lambda: unconjugated()[1]),
             ("it is the right answer flipped in space (grad_w[:, :, ::-1, ::-1]): tap (i, j) of w "
              "meets the output pixel at s*a + d*i, not at s*a - d*i.", lambda: expected[1][:, :, ::-1, ::-1])],
        ]
        for what, want, have, known in zip(("grad_x", "grad_w"), expected, got, mistakes):
            _compare(what, want, have, description, known)

    return _run("check_conv_transpose2d_backward", _conv_cases([np.float64, np.complex128]), check,
                raise_on_failure)


# ---- output size ---------------------------------------------------------------------------
def _size_cases():
    return [dict(size=size, kernel_size=k, stride=s, padding=p, output_padding=op, dilation=d)
            for size in (1, 2, 5, 12) for k in (1, 2, 3, 5) for s in (1, 2, 3) for d in (1, 2)
            for p in range(3) for op in range(max(s, d))
            if shapes.conv_transpose_output_size(size, k, s, p, op, d) > 0]


def check_output_size(student_fn, raise_on_failure=True):
    """student_fn(size, kernel_size, stride=, padding=, output_padding=, dilation=) -> the output
    length of a transposed convolution along one axis (an int), compared with
    minigrad.shapes.conv_transpose_output_size on every setting of a grid."""
    def check(case):
        description = ", ".join(f"{k}={v}" for k, v in case.items())
        got = _call(description, student_fn, **case)
        expected = shapes.conv_transpose_output_size(**case)
        if not isinstance(got, (int, np.integer)):
            hint = " (use // for whole-number division)" if isinstance(got, float) else ""
            raise _Wrong(f"case {description}: return an int, got {got!r} of type {type(got).__name__}{hint}")
        if got != expected:
            raise _Wrong(f"case {description}: expected {expected}, got {got} (off by {got - expected:+d})")

    return _run("check_output_size", _size_cases(), check, raise_on_failure)


# ---- a new elementwise op ------------------------------------------------------------------
def _function_cases():
    rng = np.random.default_rng(0)
    edges = np.array([-30.0, -5.0, -1.0, -0.25, 0.0, 0.25, 1.0, 5.0, 30.0])
    return [("x: 9 values from -30 to 30, 0 included", edges),
            ("x: (3, 4) random", 3 * rng.standard_normal((3, 4))),
            ("x: (2, 3, 2) random", 3 * rng.standard_normal((2, 3, 2)))]


def check_function(function, reference_fn=None, raise_on_failure=True, **settings):
    """function: a minigrad.autograd.Function subclass for an elementwise op of one input, called as
    function.apply(x, **settings). reference_fn(x, **settings), if given: the same op built from
    minigrad tensors (autograd gives its gradient); the forward and the backward are compared with
    it. In every case the backward is also compared with finite differences of your own forward
    (gradcheck), in float64."""
    def check(case):
        description, values = case
        at = lambda index: f"where x = {values[index]:g}"  # noqa: E731
        x = Tensor(values.copy(), requires_grad=True)
        y = _call(description, function.apply, x, **settings)
        if not isinstance(y, Tensor):
            raise _Wrong(f"case {description}: {function.__name__}.apply should return a Tensor, "
                         f"got {type(y).__name__}")
        grad_output = np.random.default_rng(1).standard_normal(values.shape)
        _call(description, y.backward, Tensor(grad_output))
        if reference_fn is not None:
            x_ref = Tensor(values.copy(), requires_grad=True)
            y_ref = reference_fn(x_ref, **settings)
            y_ref.backward(Tensor(grad_output))
            _compare("the forward", y_ref.numpy(), y.array, description, at=at)
            _compare("the backward (the input's gradient)", x_ref.grad.numpy(), x.grad, description, at=at)
        away_from_kinks = values[np.abs(values) > 0.1]  # finite differences straddling a kink mean nothing
        try:
            gradcheck(lambda t: function.apply(t, **settings), [Tensor(away_from_kinks, requires_grad=True)])
        except AssertionError as error:
            raise _Wrong(f"case {description}: your backward disagrees with finite differences of your "
                         f"forward: {error}") from None

    return _run(f"check_function({function.__name__})", _function_cases(), check, raise_on_failure)
