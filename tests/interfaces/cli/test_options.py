"""The CLI's choices are the library's: every enum in `interfaces.cli.options` offers exactly the
values the code behind it accepts."""

from lmm_apa.data.splits import SPLITS
from lmm_apa.infer.scorer import MODES
from lmm_apa.interfaces.cli import options
from lmm_apa.models.precision import PRECISIONS
from lmm_apa.tasks.answer import TASKS
from lmm_apa.tasks.build import TRAINING_SPLITS as TRAIN_SPLITS
from lmm_apa.tasks.pairs import REJECTED_KINDS


def values(enum) -> tuple[str, ...]:
    return tuple(member.value for member in enum)


def test_choices_mirror_the_library():
    assert values(options.Mode) == MODES
    assert values(options.Precision) == PRECISIONS
    assert values(options.Split) == SPLITS
    assert values(options.TrainSplit) == TRAIN_SPLITS
    assert values(options.Task) == (*TASKS, "all")
    assert values(options.RejectedKind) == REJECTED_KINDS


def test_the_split_help_names_every_split():
    for split in SPLITS:
        assert split in options.SPLIT_HELP
    assert "test" not in options.TRAIN_SPLIT_HELP.split(" | ")[0]


def test_log_levels_are_uvicorns():
    # written out in options.py so that the CLI starts without importing uvicorn
    from uvicorn.config import LOG_LEVELS

    assert set(values(options.LogLevel)) == set(LOG_LEVELS)
