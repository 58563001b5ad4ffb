"""`train.steps`: which micro-batches make up each optimizer step, whatever the number of processes."""

import pytest

from lmm_apa.train.steps import StepPlan, micro_batches


def test_total_steps_round_the_last_step_up_unless_max_steps_is_set():
    """5 utterances in micro-batches of 2: 3 micro-batches an epoch. grad-accum 2 x 2 processes: 4
    micro-batches a step, so 3 epochs (9 micro-batches) take ceil(9 / 4) = 3 steps."""
    plan = StepPlan.of(5, batch_size=2, grad_accum=2, n_proc=2, seed=0, epochs=3, max_steps=None)
    assert (plan.micro_per_epoch, plan.micro_per_step, plan.total_steps) == (3, 4, 3)
    assert plan.epoch(3) == 4.0  # 12 micro-batches done: the last step ran into a 4th epoch
    assert StepPlan.of(5, 2, 2, 2, 0, epochs=3, max_steps=7).total_steps == 7


@pytest.mark.parametrize(("grad_accum", "n_proc"), [(4, 1), (2, 2), (1, 4)])
def test_a_step_is_the_same_micro_batches_whatever_the_number_of_processes(grad_accum, n_proc):
    """grad-accum 4 in one process, 2 x 2 or 1 x 4: step s takes micro-batches 4s .. 4s + 3 in all
    three, each once, process ``rank`` its own of them."""
    plan = StepPlan.of(7, 1, grad_accum, n_proc, seed=3, epochs=2, max_steps=None)
    for step in range(plan.total_steps):
        taken = [plan.micro_index(step, k, rank) for rank in range(n_proc) for k in range(grad_accum)]
        assert sorted(taken) == list(range(4 * step, 4 * step + 4))


def test_micro_batches_run_on_into_the_next_epoch_in_a_new_seeded_order():
    plan = StepPlan.of(5, batch_size=2, grad_accum=1, n_proc=1, seed=1, epochs=2, max_steps=None)
    first = [plan.examples(m) for m in range(3)]
    second = [plan.examples(m) for m in range(3, 6)]
    assert sorted(i for b in first for i in b) == sorted(i for b in second for i in b) == list(range(5))
    assert second == micro_batches(5, 2, 1, 1) and first == micro_batches(5, 2, 1, 0) != second
    assert micro_batches(5, 2, 2, 0) != first  # the seed orders the data too
