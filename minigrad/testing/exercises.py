"""Moved: the exercise checkers are the book's own now (book/checkers.py), beside the chapter that uses them."""
raise ImportError("minigrad.testing.exercises moved to book/checkers.py: run the exercises from book/ and "
                  "`from checkers import check_output_size, ...`")
