"""Array-level kernels: functions on raw NumPy/CuPy arrays, no autograd."""
