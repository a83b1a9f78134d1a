"""Moved: the book's DCGAN is its own package now, `dcgan` (book/dcgan), importing minigrad like any user."""
raise ImportError("minigrad.dcgan moved to the package dcgan: `import dcgan`, `python -m dcgan train`")
