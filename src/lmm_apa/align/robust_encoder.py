"""Teach the Whisper-base encoder to hear through rooms: LoRA trained so that a noisy recording's
frames are its clean recording's (issue "Scores that hold on real recordings").

Everything above the encoder (the phone head, the evidence readout, the LMM's audio features) was
trained on the frozen encoder's frames of clean corpus recordings. Retraining those parts on noisy
copies (the room-trained default) taught them to expect worse evidence, not to recover it: white
noise at 20 dB still moved the scores as much as before. Here the encoder itself learns, by
distillation from its frozen self:

- input: a training recording through `RoomAugmenter` with no silence added (so that every frame
  keeps its time: noise 5-30 dB white / coloured / babble, reverberation, telephone band, MP3 or
  Opus, gain), or, for ``clean_share`` of the examples, the clean recording;
- or, for ``crop_share`` of them, that recording cut tight around its speech (0-0.3 s kept each
  side), a third of those stopped in the second half of the speech (a learner who pressed stop too
  early): Whisper was trained on 30 s windows, and frames at an abrupt edge are where the frozen
  encoder strays most from what it gives the same speech with room around it;
- target: the frozen encoder's frames of the clean recording (the cached `train_head.frame_cache`),
  over the same stretch (crops are cut on 20 ms frame edges, so frame i is the same 20 ms in both);
- loss: per-dimension standardised MSE between the two, plus ``kl_weight`` x the KL divergence of
  the shipped phone head's posteriors on them (what the aligner reads).

The clean examples keep the adapter from moving what clean audio gives, so the head, the readout
and the LMM read its frames unchanged: no part above it has to be retrained. The LoRA (rank 16 on
every linear layer of the six blocks, 0.9M parameters, 3.5 MB) is merged into the encoder at
load (`models.whisper_torch.TorchWhisperEncoder`), so scoring costs what it cost.

    lmm-apa align tune-encoder --data ../shared/speechocean762 --cache /work/cache/frames \\
        --out runs/align/encoder_room

Resumable: the adapter and the optimiser are saved every ``save_every`` steps in ``out/ckpt``.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

DEFAULT_HEAD_FOR_KL = None  # None: the shipped aligner's head (`align.head.DEFAULT_HEAD`)
SR = 16000
HOP = 320  # samples a Whisper encoder frame (50 Hz)


def _losses(
    tower: torch.nn.Module,
    head: Any,
    mel: np.ndarray,
    target: np.ndarray,
    scale: torch.Tensor,
    kl_weight: float,
) -> tuple[torch.Tensor, float, float]:
    from lmm_apa.models.whisper_torch import encoder_frames

    s = encoder_frames(tower, torch.from_numpy(np.ascontiguousarray(mel, dtype=np.float32))[None])[0]
    t = torch.as_tensor(np.asarray(target, dtype=np.float32))
    n = min(len(s), len(t))
    s, t = s[:n], t[:n]
    mse = (((s - t) * scale) ** 2).mean()
    logp_s, _ = head(s[None])
    with torch.no_grad():
        logp_t, _ = head(t[None])
    kl = (logp_t.exp() * (logp_t - logp_s)).sum(-1).mean()
    return mse + kl_weight * kl, mse.item(), kl.item()


def _crop(n: int, onset: int, offset: int, rng: random.Random) -> tuple[int, int]:
    """[start, end) samples on frame edges (module docstring); the whole recording when the speech
    found is under a second."""
    if offset - onset < SR:
        return 0, n
    start = max(0, onset - int(rng.uniform(0.0, 0.3) * SR))
    if rng.random() < 1 / 3:
        end = onset + int(rng.uniform(0.5, 1.0) * (offset - onset))
    else:
        end = min(n, offset + int(rng.uniform(0.0, 0.3) * SR))
    start = start // HOP * HOP
    return start, start + (end - start) // HOP * HOP


def _speech_spans(waves: dict[str, np.ndarray]) -> dict[str, tuple[int, int]]:
    from lmm_apa.data.speech import find_speech

    spans = {}
    for uid, wave in waves.items():
        sp = find_speech(wave)
        spans[uid] = (0, len(wave)) if not sp.found else sp.cut(0.0)
    return spans


def _example(
    augment: Any,
    wave: np.ndarray,
    key: str,
    target: np.ndarray,
    span: tuple | None,
    rng: random.Random,
    shares: tuple[float, float],
) -> tuple[np.ndarray, np.ndarray]:
    """(input, target frames) of one training example: in a room or clean, then maybe cropped;
    ``shares`` = (clean share, crop share)."""
    x, _ = _room_or_clean(augment, wave, key, shares[0], rng)
    if shares[1] > 0 and rng.random() < shares[1]:
        a, b = _crop(len(x), *span, rng)
        x, target = x[a:b], target[a // HOP :]
    return x, target


def _progress(step: int, recent: list, sched: Any, t0: float) -> str:
    m = np.mean(recent, axis=0)
    line = {"step": step, "mse": round(float(m[0]), 5), "kl": round(float(m[1]), 5)}
    return json.dumps(line | {"lr": round(sched.get_last_lr()[0], 6), "seconds": round(time.time() - t0, 1)})


def _room_or_clean(augment: Any, wave: np.ndarray, key: str, clean_share: float, rng: random.Random):
    if rng.random() < clean_share:
        return wave, False
    x = augment(wave, key)
    if len(x) != len(wave):  # no silence was added, so only a codec's rounding can change the length
        x = np.pad(x, (0, max(0, len(wave) - len(x))))[: len(wave)]
    return x, True


@torch.no_grad()
def dev_losses(
    tower: torch.nn.Module,
    head: Any,
    encoder: Any,
    waves: dict[str, np.ndarray],
    targets: dict[str, np.ndarray],
    augment: Any,
    scale: torch.Tensor,
    kl_weight: float,
    spans: dict[str, tuple[int, int]] | None = None,
) -> dict[str, float]:
    """Mean MSE and KL on held-out recordings, clean and in a room fixed per recording; with
    ``spans`` (their speech, `_speech_spans`) also clean and cut as `_crop` cuts, fixed per recording."""
    kinds = ("clean", "room", "cut") if spans else ("clean", "room")
    out: dict[str, list[float]] = {f"{k}_{m}": [] for k in kinds for m in ("mse", "kl")}
    tower.eval()
    for uid, wave in waves.items():
        room, _ = _room_or_clean(augment, wave, f"{uid}#dev", 0.0, random.Random())
        inputs = {"clean": (wave, targets[uid]), "room": (room, targets[uid])}
        if spans:
            a, b = _crop(len(wave), *spans[uid], random.Random(uid))
            inputs["cut"] = (wave[a:b], targets[uid][a // HOP :])
        for kind, (x, target) in inputs.items():
            _, mse, kl = _losses(tower, head, encoder.mel(x), target, scale, kl_weight)
            out[f"{kind}_mse"].append(mse)
            out[f"{kind}_kl"].append(kl)
    return {k: round(float(np.mean(v)), 5) for k, v in out.items()}


def train_robust_encoder(
    data: str | Path,
    out: str | Path,
    cache: str | Path,
    split: str = "train-minus-dev25",
    dev_split: str = "dev25",
    epochs: int = 2,
    lr: float = 1e-3,
    rank: int = 16,
    accumulate: int = 8,
    clean_share: float = 0.25,
    kl_weight: float = 1.0,
    crop_share: float = 0.0,
    telephone_p: float = 0.2,
    narrowband_share: float = 0.0,
    dev_n: int = 100,
    seed: int = 0,
    limit: int | None = None,
    save_every: int = 50,
    head_dir: str | Path | None = DEFAULT_HEAD_FOR_KL,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train the encoder's LoRA (module docstring) on ``split``, watching ``dev_n`` recordings of
    ``dev_split``; the last epoch's adapter is written to ``out`` (each epoch's to ``out/epoch<k>``),
    -> its json (the recipe and the dev losses per epoch)."""
    from lmm_apa.models.whisper_torch import save_adapter

    torch.manual_seed(seed)
    out = Path(out)
    ckpt = out / "ckpt"
    train_utts, waves, dev_waves, targets, scale = _training_data(data, cache, split, dev_split, dev_n, limit)
    augment = _room(train_utts, cache, seed, telephone_p, narrowband_share)
    spans, dev_spans = (_speech_spans(waves), _speech_spans(dev_waves)) if crop_share > 0 else ({}, None)
    shares = (clean_share, crop_share)
    head, encoder, tower = _models(ckpt, rank, head_dir)
    params = [p for p in tower.parameters() if p.requires_grad]
    steps_per_epoch = math.ceil(len(train_utts) / accumulate)
    total = epochs * steps_per_epoch
    opt, sched, state = _optimiser(params, lr, total, ckpt, log)
    recipe = dict(
        rank=rank, alpha=2 * rank, lr=lr, epochs=epochs, accumulate=accumulate, clean_share=clean_share,
        kl_weight=kl_weight, crop_share=crop_share, seed=seed, split=split, dev_split=dev_split,
        dev_n=len(dev_waves), train_recordings=len(train_utts),
        augment=f"RoomAugmenter(pad_seconds=0, telephone_p={telephone_p}, "
        f"narrowband_share={narrowband_share})",
        head=str(head_dir) if head_dir else "the shipped aligner's (lmm_apa/weights/aligner)",
    )  # fmt: skip
    if state["step"] == 0:
        base = dev_losses(tower, head, encoder, dev_waves, targets, augment, scale, kl_weight, dev_spans)
        state["history"].append({"epoch": 0, **base})
        log(json.dumps({"epoch": 0, **base}))
    t0, recent = time.time(), []
    while state["step"] < total:
        epoch, within = divmod(state["step"], steps_per_epoch)
        order = list(train_utts)
        random.Random(seed * 1000 + epoch).shuffle(order)
        tower.train()
        for i in range(within, steps_per_epoch):
            batch = [(u.utt_id, waves[u.utt_id]) for u in order[i * accumulate : (i + 1) * accumulate]]
            rng = random.Random(seed * 1_000_003 + state["step"])
            for uid, wave in batch:  # gradients of the batch accumulate, one recording at a time
                key = f"{uid}#{epoch}"
                x, target = _example(augment, wave, key, targets[uid], spans.get(uid), rng, shares)
                loss, mse, kl = _losses(tower, head, encoder.mel(x), target, scale, kl_weight)
                (loss / len(batch)).backward()
                recent.append((mse, kl))
            _update(params, opt, sched)
            state["step"] += 1
            if state["step"] % save_every == 0 or state["step"] == total:
                log(_progress(state["step"], recent, sched, t0))
                recent = []
                _checkpoint(ckpt, tower, opt, sched, state, recipe)
        dev = dev_losses(tower, head, encoder, dev_waves, targets, augment, scale, kl_weight, dev_spans)
        _epoch_done(tower, out, state, recipe, epoch, dev, log)
        tower.train()
    info = {**recipe, "history": state["history"], "steps": state["step"]}
    save_adapter(tower, out, **info)
    return info


def _epoch_done(
    tower: torch.nn.Module, out: Path, state: dict, recipe: dict, epoch: int, dev: dict, log: Callable
) -> None:
    """Record the epoch's dev losses, write its adapter to ``out/epoch<k>`` and the run's state."""
    from lmm_apa.models.whisper_torch import save_adapter

    state["history"].append({"epoch": epoch + 1, "step": state["step"], **dev})
    log(json.dumps({"epoch": epoch + 1, **dev}))
    save_adapter(tower, out / f"epoch{epoch + 1}", **recipe, history=state["history"])
    (out / "ckpt" / "state.json").write_text(json.dumps(state))


def _training_data(
    data: str | Path, cache: str | Path, split: str, dev_split: str, dev_n: int, limit: int | None
) -> tuple[list, dict, dict, dict, torch.Tensor]:
    """(training utterances, their waves, ``dev_n`` held-out waves, every one's clean frozen frames,
    the per-dimension scale of the frame MSE)."""
    from lmm_apa.align.fit import _splits
    from lmm_apa.align.train_head import frame_cache
    from lmm_apa.data.audio import load_audio

    train_utts, dev_utts = _splits(data, split, dev_split, limit)
    dev_utts = dev_utts[:: max(1, len(dev_utts) // dev_n)][:dev_n]
    frames = frame_cache(train_utts + dev_utts, cache)
    # standardise each frame dimension by its spread over clean training frames, so that the MSE
    # weighs all 512 alike (a few dimensions carry most of the raw variance)
    sample = np.concatenate([np.load(frames[u.utt_id]) for u in train_utts[:200]]).astype(np.float32)
    scale = torch.as_tensor(1.0 / (sample.std(axis=0) + 1e-3))
    waves = {u.utt_id: load_audio(u.audio_path) for u in train_utts}
    dev_waves = {u.utt_id: load_audio(u.audio_path) for u in dev_utts}
    targets = {u.utt_id: np.load(frames[u.utt_id]) for u in train_utts + dev_utts}
    return train_utts, waves, dev_waves, targets, scale


def _room(train_utts: list, cache: str | Path, seed: int, telephone_p: float, narrowband_share: float) -> Any:
    """The room augmenter, its babble made of ~200 training recordings (cached beside the frames)."""
    from lmm_apa.data.audio import load_audio
    from lmm_apa.data.augment import RoomAugmenter, make_babble

    talkers = [load_audio(u.audio_path) for u in train_utts[:: max(1, len(train_utts) // 200)]]
    babble = make_babble(talkers, Path(cache) / f"babble-s{seed}", seed=seed)
    return RoomAugmenter(
        babble, seed, pad_seconds=0.0, telephone_p=telephone_p, narrowband_share=narrowband_share
    )


def _checkpoint(ckpt: Path, tower: torch.nn.Module, opt: Any, sched: Any, state: dict, recipe: dict) -> None:
    from lmm_apa.models.whisper_torch import save_adapter

    save_adapter(tower, ckpt, **recipe)
    torch.save(opt.state_dict(), ckpt / "optimizer.pt")
    torch.save(sched.state_dict(), ckpt / "scheduler.pt")
    (ckpt / "state.json").write_text(json.dumps(state))


def _optimiser(params: list, lr: float, total: int, ckpt: Path, log: Callable[[str], None]) -> tuple:
    """AdamW with warm-up and cosine decay over ``total`` steps, and the run's state: both as saved
    in ``ckpt`` when there is a checkpoint (resume)."""
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    warmup = min(50, total // 10 + 1)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(s, total) / total))
    )
    state: dict[str, Any] = {"step": 0, "history": []}
    if (ckpt / "state.json").is_file():
        state = json.loads((ckpt / "state.json").read_text())
        opt.load_state_dict(torch.load(ckpt / "optimizer.pt"))
        sched.load_state_dict(torch.load(ckpt / "scheduler.pt"))
        log(json.dumps({"resumed_at_step": state["step"]}))
    return opt, sched, state


def _update(params: list, opt: Any, sched: Any) -> None:
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    sched.step()
    opt.zero_grad()


def _models(ckpt: Path, rank: int, head_dir: str | Path | None) -> tuple[Any, Any, torch.nn.Module]:
    """(the frozen phone head, the torch encoder (its mel), its tower with the LoRA to train: the
    checkpoint's when there is one, else a fresh one of ``rank``)."""
    from lmm_apa.align.head import DEFAULT_HEAD, PhoneHead
    from lmm_apa.models.whisper_torch import TorchWhisperEncoder, add_lora, load_adapter

    head = PhoneHead.load(head_dir or DEFAULT_HEAD).eval()
    for p in head.parameters():
        p.requires_grad = False
    encoder = TorchWhisperEncoder()
    if (ckpt / "state.json").is_file():
        tower = load_adapter(encoder.tower, ckpt, merge=False)
    else:
        tower = add_lora(encoder.tower, rank=rank, alpha=2 * rank)
    for name, p in tower.named_parameters():
        p.requires_grad = "lora_" in name
    return head, encoder, tower
