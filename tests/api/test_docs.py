"""The API reference builds offline from the docstrings with pdoc, for the public API only."""

import os
import subprocess
import sys

import pytest


def test_api_reference_builds(tmp_path):
    pytest.importorskip("pdoc")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    # '!lmm_apa\.': the package root only (its __all__), no pages for the internal submodules
    command = [sys.executable, "-m", "pdoc", "-o", str(tmp_path), "lmm_apa", r"!lmm_apa\."]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "lmm_apa.html").read_text()
    for anchor in ("Assessor", "Assessor.score", "Assessor.score_many", "Result.to_dict", "Result.from_dict"):
        assert f'id="{anchor}"' in page, anchor
    assert 'id="AudioError"' in page and 'id="InputError"' in page
    assert not (tmp_path / "lmm_apa").exists()  # no internal module pages
