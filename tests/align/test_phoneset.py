import pytest

from lmm_apa.align.phoneset import BLANK, N_CLASSES, PHONES, base_phone, phone_id


def test_classes_are_blank_plus_39_distinct_phones():
    assert BLANK == 0
    assert len(PHONES) == len(set(PHONES)) == 39
    assert N_CLASSES == 40


def test_stress_digits_are_dropped_and_case_ignored():
    assert base_phone("IY0") == "IY"
    assert base_phone("ah1") == "AH"
    assert base_phone("T") == "T"


def test_phone_ids_are_1_to_39_in_phone_order_whatever_the_stress():
    assert [phone_id(p) for p in PHONES] == list(range(1, 40))
    assert phone_id("ER2") == phone_id("ER") == PHONES.index("ER") + 1


@pytest.mark.parametrize("symbol", ["XX", "", "IY3"])
def test_a_symbol_outside_cmu_arpabet_is_refused(symbol):
    with pytest.raises(ValueError, match="not a CMU ARPAbet phone"):
        phone_id(symbol)
