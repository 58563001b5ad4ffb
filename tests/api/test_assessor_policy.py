"""`Assessor(lmm_share=...)`: the API's override of the model's scoring policy, recorded in `meta`."""

import pytest

from lmm_apa import Assessor, InputError


def test_the_share_overrides_the_policy_and_every_result_records_it(tiny_adapter, bear_flac):
    a = Assessor(tiny_adapter, lmm_share={"word": 0})
    assert a.policy.lmm_share == {"sentence": 1.0, "word": 0.0, "phone": 1.0}
    r = a.score(bear_flac, text="We call it bear")
    assert r.meta["policy"]["lmm_share"] == {"sentence": 1.0, "word": 0.0, "phone": 1.0}
    assert r.meta["policy"]["source"] == "built-in default + --lmm-share"
    assert r.meta["policy"]["heard_below"] == 1.0 and r.meta["model"] == str(tiny_adapter)


def test_a_share_the_model_cannot_take_is_an_input_error():
    with pytest.raises(InputError, match="lmm_share: .*share is 0 by definition"):
        Assessor("evidence", lmm_share=0.5)
