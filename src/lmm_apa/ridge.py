"""Closed-form ridge regression: the one solver the evidence scorer's sentence level and the eval
baseline share (numpy only; scikit-learn is no dependency, and its solvers round differently)."""

import numpy as np


def ridge(x: np.ndarray, y: np.ndarray, alpha: float, free: int) -> np.ndarray:
    """Weights ``w`` minimising ``|x @ w - y|^2 + alpha * |w|^2`` over every column but ``free`` (the
    intercept's column of ones, unpenalised): ``(x'x + alpha I') \\ x'y``. ``y`` may hold several
    targets as columns."""
    penalty = alpha * np.eye(x.shape[1])
    penalty[free, free] = 0.0
    return np.linalg.solve(x.T @ x + penalty, x.T @ y)
