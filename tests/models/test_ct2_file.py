"""The CTranslate2 model.bin reader, on small files written here in the format CTranslate2 writes."""

import struct

import numpy as np
import pytest

from lmm_apa.errors import ModelError
from lmm_apa.models.ct2_file import read_ct2_header, read_ct2_variables

CODES = {"float32": 0, "int8": 1, "int32": 3, "float16": 4}


def _string(s: str) -> bytes:
    raw = s.encode() + b"\0"
    return struct.pack("<H", len(raw)) + raw


def write_model_bin(path, variables: dict[str, np.ndarray], aliases=(), version=6, spec="WhisperSpec"):
    out = (
        struct.pack("<I", version) + _string(spec) + struct.pack("<I", 3) + struct.pack("<I", len(variables))
    )
    for name, a in variables.items():
        out += _string(name) + struct.pack("<B", a.ndim) + b"".join(struct.pack("<I", d) for d in a.shape)
        out += struct.pack("<B", CODES[a.dtype.name]) + struct.pack("<I", a.nbytes) + a.tobytes()
    out += struct.pack("<I", len(aliases)) + b"".join(_string(a) + _string(t) for a, t in aliases)
    path.write_bytes(out)
    return path


@pytest.fixture
def model_bin(tmp_path):
    return write_model_bin(
        tmp_path / "model.bin",
        {
            "encoder/conv1/weight": np.arange(12, dtype=np.float32).reshape(3, 4),
            "encoder/num_heads": np.array(8, dtype=np.int32),
            "encoder/scale": np.array([1.5, -2.0], dtype=np.float16),
        },
        aliases=[("decoder/embeddings", "encoder/conv1/weight")],
    )


def test_variables_are_read_with_their_shapes_types_and_aliases(model_bin):
    v = read_ct2_variables(model_bin)
    np.testing.assert_array_equal(v["encoder/conv1/weight"], np.arange(12).reshape(3, 4))
    assert v["encoder/scale"].dtype == np.float16 and list(v["encoder/scale"]) == [1.5, -2.0]
    assert int(v["encoder/num_heads"]) == 8
    assert v["decoder/embeddings"] is v["encoder/conv1/weight"]


def test_the_header_skips_tensors_but_keeps_integer_scalars(model_bin):
    spec, shapes, scalars = read_ct2_header(model_bin)
    assert spec == "WhisperSpec"
    assert shapes == {
        "encoder/conv1/weight": ((3, 4), "float32"),
        "encoder/num_heads": ((), "int32"),
        "encoder/scale": ((2,), "float16"),
    }
    assert scalars == {"encoder/num_heads": 8}


def test_a_file_of_another_kind_is_a_model_error(tmp_path):
    bad = write_model_bin(tmp_path / "other.bin", {}, version=2)
    with pytest.raises(ModelError, match="not a CTranslate2 model"):
        read_ct2_header(bad)


def test_a_cut_file_is_a_model_error(model_bin):
    model_bin.write_bytes(model_bin.read_bytes()[:40])
    with pytest.raises(ModelError, match="ends inside its header"):
        read_ct2_variables(model_bin)


def test_the_packaged_whisper_base_header():
    from lmm_apa.models.parts import packaged_whisper_dir

    try:
        folder = packaged_whisper_dir()
    except ModelError as e:
        pytest.skip(str(e))
    spec, shapes, scalars = read_ct2_header(folder / "model.bin")
    assert "Whisper" in spec
    assert scalars["encoder/num_heads"] == 8
    assert shapes["encoder/conv1/weight"][0][0] == 512
