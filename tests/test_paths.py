from lmm_apa.paths import WEIGHTS_DIR, cache_dir


def test_the_weights_ship_inside_the_package():
    assert WEIGHTS_DIR.name == "weights"
    assert WEIGHTS_DIR.parent.name == "lmm_apa"


def test_cache_dir_follows_the_environment_and_is_made(monkeypatch, tmp_path):
    target = tmp_path / "deep" / "cache"
    monkeypatch.setenv("LMM_APA_CACHE", str(target))
    assert cache_dir() == target
    assert target.is_dir()


def test_cache_dir_defaults_under_home(monkeypatch, tmp_path):
    monkeypatch.delenv("LMM_APA_CACHE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_dir() == tmp_path / ".cache" / "lmm-apa"
    assert cache_dir().is_dir()
