"""Checks for students and tests: gradients by central finite differences."""
from .gradcheck import gradcheck  # noqa: F401
