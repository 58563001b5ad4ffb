"""The single-process side of `lmm_apa.distributed` and `train.parallel` (no process is launched)."""

from types import SimpleNamespace

import pytest
from accelerate.utils import DistributedType

from lmm_apa.distributed import Workers, use_cpu_processes
from lmm_apa.train.parallel import check_supported, gather_in_order


def test_a_single_process_is_rank_0_of_1_and_does_every_chunk(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    w = Workers()
    assert (w.rank, w.world, w.is_main) == (0, 1, True) and not use_cpu_processes()
    chunks = w.my_chunks(list("abcde"), 2)
    assert chunks == [(0, ["a", "b"]), (2, ["c", "d"]), (4, ["e"])]
    assert w.gather([(4, "z"), (0, "x")]) == ["x", "z"]


def test_chunks_go_round_robin_whole_and_cover_everything_once():
    items = list(range(7))
    shares = []
    for rank in range(3):
        w = Workers.__new__(Workers)  # a process's place, without launching any
        w._state, w.rank, w.world = None, rank, 3
        shares.append(w.my_chunks(items, 2))
    assert [[s for s, _ in share] for share in shares] == [[0, 6], [2], [4]]
    assert sorted(x for share in shares for _, part in share for x in part) == items


def test_metrics_come_back_in_micro_batch_order():
    one = SimpleNamespace(num_processes=1)
    assert gather_in_order(one, [(3, {"loss": 3.0}), (1, {"loss": 1.0})]) == [{"loss": 1.0}, {"loss": 3.0}]


def test_engines_not_wired_are_refused_with_the_way_out():
    with pytest.raises(ValueError, match="configs/accelerate/"):
        check_supported(SimpleNamespace(distributed_type=DistributedType.MEGATRON_LM))


@pytest.mark.parametrize(
    "kind",
    [DistributedType.NO, DistributedType.MULTI_CPU, DistributedType.MULTI_GPU, DistributedType.FSDP,
     DistributedType.DEEPSPEED],
)  # fmt: skip
def test_ddp_fsdp_deepspeed_and_one_process_are_accepted(kind):
    check_supported(SimpleNamespace(distributed_type=kind))
