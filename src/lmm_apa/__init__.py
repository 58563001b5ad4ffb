"""lmm-apa: fine-tune audio-language models for automatic pronunciation assessment, and score
learners' recordings with them.

```python
from lmm_apa import Assessor

a = Assessor("default")                       # the shipped model; loads in a few seconds, offline
r = a.score("me.wav", text="We call it bear")  # or bytes, a file object, (array, sample_rate=...)
print(r)                                       # one line: total, sentence scores, each word's
r.total, r.words[0].accuracy, r.words[0].phones[1].heard, r.words[0].start
r.to_dict()                                    # the corpus schema `lmm-apa score --json` writes
```

These names are the public API; every submodule is internal and may change.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

try:
    __version__ = version("lmm-apa")  # the one source: pyproject.toml's version, as installed
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"

# name -> the module that defines it; imported on first use (PEP 562), so `import lmm_apa` stays
# cheap and loads neither torch nor a model.
_PUBLIC: dict[str, str] = {
    "Assessor": "lmm_apa.api.assessor",
    "Result": "lmm_apa.api.result",
    "WordResult": "lmm_apa.api.result",
    "PhoneResult": "lmm_apa.api.result",
    "Insertion": "lmm_apa.api.result",
    "LmmApaError": "lmm_apa.errors",
    "AudioError": "lmm_apa.errors",
    "InputError": "lmm_apa.errors",
    "LexiconError": "lmm_apa.errors",
    "ModelError": "lmm_apa.errors",
    "DataError": "lmm_apa.errors",
    "ConfigError": "lmm_apa.errors",
}

__all__ = [*_PUBLIC, "__version__"]

if TYPE_CHECKING:
    # Redundant aliases: re-exports for type checkers and IDEs.
    from lmm_apa.api.assessor import Assessor as Assessor
    from lmm_apa.api.result import Insertion as Insertion
    from lmm_apa.api.result import PhoneResult as PhoneResult
    from lmm_apa.api.result import Result as Result
    from lmm_apa.api.result import WordResult as WordResult
    from lmm_apa.errors import AudioError as AudioError
    from lmm_apa.errors import ConfigError as ConfigError
    from lmm_apa.errors import DataError as DataError
    from lmm_apa.errors import InputError as InputError
    from lmm_apa.errors import LexiconError as LexiconError
    from lmm_apa.errors import LmmApaError as LmmApaError
    from lmm_apa.errors import ModelError as ModelError


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        value = getattr(import_module(_PUBLIC[name]), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'lmm_apa' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
