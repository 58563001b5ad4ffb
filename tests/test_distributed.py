import pytest

from lmm_apa import distributed
from lmm_apa.distributed import Workers, close_process_group, launched_world_size, use_cpu_processes


@pytest.fixture
def single(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)


def test_a_direct_run_is_one_process_rank_0(single):
    assert launched_world_size() == 1
    assert not use_cpu_processes()
    w = Workers()
    assert (w.rank, w.world, w.is_main) == (0, 1, True)
    close_process_group()  # a no-op, no process group
    w.wait()


def test_world_size_comes_from_the_launcher(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "4")
    assert launched_world_size() == 4


def test_chunks_go_round_robin_and_gather_back_in_order(single):
    items = list(range(10))
    workers = []
    for rank in range(3):
        w = Workers()
        w.rank, w.world = rank, 3
        workers.append(w)
    chunks = [w.my_chunks(items, 2) for w in workers]
    assert chunks[0] == [(0, [0, 1]), (6, [6, 7])]
    assert chunks[1] == [(2, [2, 3]), (8, [8, 9])]
    assert chunks[2] == [(4, [4, 5])]
    # in one process gather just orders by position
    mine = [(start, sum(c)) for cs in reversed(chunks) for start, c in cs]
    assert Workers().gather(mine) == [1, 5, 9, 13, 17]


def test_several_processes_without_a_gpu_use_cpu_process_groups(monkeypatch):
    import torch

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert distributed.use_cpu_processes()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert not distributed.use_cpu_processes()
