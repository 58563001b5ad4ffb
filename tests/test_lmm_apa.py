"""The package root: the public names, imported lazily."""

import subprocess
import sys

import pytest

import lmm_apa


def test_public_names_resolve_to_their_modules_objects():
    from lmm_apa.api.result import Result
    from lmm_apa.errors import AudioError

    assert lmm_apa.AudioError is AudioError
    assert lmm_apa.Result is Result
    assert {"Assessor", "Result", "LmmApaError", "__version__"} <= set(lmm_apa.__all__)
    assert set(lmm_apa.__all__) <= set(dir(lmm_apa))


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no_such_thing"):
        lmm_apa.no_such_thing  # noqa: B018


def test_importing_the_package_loads_neither_torch_nor_the_api():
    code = "import sys, lmm_apa; print('torch' in sys.modules, 'lmm_apa.api.assessor' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
