"""Checks for students and tests: gradients by finite differences, and the book's exercise checkers."""
from .exercises import check_conv_transpose2d, check_conv_transpose2d_backward, check_function, check_output_size  # noqa: F401
from .gradcheck import gradcheck  # noqa: F401
