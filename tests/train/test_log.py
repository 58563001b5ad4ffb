from lmm_apa.train.log import MetricLogger, read_log


def test_records_are_appended_with_their_step_and_read_back_in_order(tmp_path):
    logger = MetricLogger(tmp_path, tensorboard=False)
    logger.log({"loss": 1.5}, step=1)
    logger.log({"loss": 1.25, "lr": 1e-4}, step=2)
    logger.close()
    # a resumed run appends to the same file
    again = MetricLogger(tmp_path, tensorboard=False)
    again.log({"loss": 1.3}, step=2)
    records = read_log(tmp_path / "log.jsonl")
    assert [(r["step"], r["loss"]) for r in records] == [(1, 1.5), (2, 1.25), (2, 1.3)]
    assert records[1]["lr"] == 1e-4
    assert all(isinstance(r["time"], float) for r in records)


def test_a_disabled_logger_writes_nothing(tmp_path):
    logger = MetricLogger(tmp_path / "run", enabled=False)
    logger.log({"loss": 1.0}, step=1)
    logger.close()
    assert not (tmp_path / "run").exists()


def test_tensorboard_gets_the_numbers_when_installed(tmp_path):
    logger = MetricLogger(tmp_path)
    logger.log({"loss": 0.5, "flag": True, "name": "x"}, step=3)
    logger.close()
    assert read_log(tmp_path / "log.jsonl")[0]["name"] == "x"
    if logger._tb is not None:
        assert any((tmp_path / "tensorboard").iterdir())
