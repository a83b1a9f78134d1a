"""Checks for students and tests: gradients by finite differences."""
from .gradcheck import gradcheck  # noqa: F401
