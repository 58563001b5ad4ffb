import pytest

from lmm_apa import errors

KINDS = [
    errors.AudioError,
    errors.LexiconError,
    errors.DataError,
    errors.ConfigError,
    errors.ModelError,
    errors.InputError,
]


@pytest.mark.parametrize("kind", KINDS)
def test_every_error_is_an_lmm_apa_error_and_keeps_its_message(kind):
    with pytest.raises(errors.LmmApaError, match="the message"):
        raise kind("the message")


def test_kinds_are_distinct():
    for kind in KINDS:
        assert [k for k in KINDS if issubclass(kind, k)] == [kind]


def test_an_input_error_is_also_a_value_error():
    assert issubclass(errors.InputError, ValueError)
    assert not issubclass(errors.AudioError, ValueError)
