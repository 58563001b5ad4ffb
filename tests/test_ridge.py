import numpy as np

from lmm_apa.ridge import ridge


def _data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    x = np.column_stack([np.ones(n), rng.normal(size=(n, 3))])
    w = np.array([5.0, 1.0, -2.0, 0.5])
    return x, x @ w, w


def test_without_penalty_it_is_least_squares():
    x, y, w = _data()
    np.testing.assert_allclose(ridge(x, y, alpha=0.0, free=0), w, atol=1e-9)


def test_the_penalty_shrinks_every_weight_but_the_free_one():
    x, y, w = _data()
    got = ridge(x, y, alpha=1e6, free=0)
    assert np.all(np.abs(got[1:]) < 0.05 * np.abs(w[1:]))
    assert abs(got[0] - y.mean()) < 0.1  # the intercept is unpenalised: it takes the mean


def test_it_solves_the_penalised_normal_equations_for_several_targets():
    x, y, _ = _data()
    ys = np.column_stack([y, -2 * y])
    got = ridge(x, ys, alpha=3.0, free=0)
    penalty = 3.0 * np.eye(4)
    penalty[0, 0] = 0.0
    np.testing.assert_allclose((x.T @ x + penalty) @ got, x.T @ ys, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(got[:, 1], -2 * got[:, 0], rtol=1e-10, atol=1e-12)
