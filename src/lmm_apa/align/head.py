"""`PhoneHead`: a small CTC phone recogniser on the frozen Whisper-base encoder frames (50 Hz).

A linear bottleneck, then ``n_layers`` residual 1-D convolution blocks (``arch="conv"``, the
default) or a BiLSTM of ``n_layers`` layers (``arch="lstm"``). The Whisper encoder above it already
attends over the whole recording, so the head needs little context of its own: the convolutions see
13 frames (260 ms). They train ~8x faster than the BiLSTM on a 2-core CPU (large matrix products
instead of a sequential recurrence: about 30 s against 250 s an epoch of 2000 recordings), and add
milliseconds to scoring.
It is trained on the corpus' canonical phones (`lmm_apa.align.train_head`), so its posteriors
say how much each frame sounds like each phone *as Mandarin-L1 learners say it*; the gap between the
canonical phone and its best competitor is the goodness-of-pronunciation evidence.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from lmm_apa.align.phoneset import N_CLASSES
from lmm_apa.errors import ModelError
from lmm_apa.paths import WEIGHTS_DIR

HEAD_JSON = "phone_head.json"
HEAD_WEIGHTS = "phone_head.safetensors"
DEFAULT_HEAD = WEIGHTS_DIR / "aligner"


@dataclass(frozen=True)
class HeadConfig:
    d_in: int = 512
    d_bottleneck: int = 256
    arch: str = "conv"  # "conv" or "lstm"
    d_hidden: int = 192  # lstm: per direction
    n_layers: int = 3
    kernel: int = 5  # conv
    dropout: float = 0.2
    n_classes: int = N_CLASSES


class _ConvBlock(nn.Module):
    def __init__(self, d: int, kernel: int, dropout: float):
        super().__init__()
        self.norm = nn.LayerNorm(d)
        self.conv = nn.Conv1d(d, d, kernel, padding=kernel // 2)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):  # (B, T, d)
        y = self.conv(self.norm(x).transpose(1, 2)).transpose(1, 2)
        return x + self.drop(nn.functional.gelu(y))


class PhoneHead(nn.Module):
    def __init__(self, cfg: HeadConfig = HeadConfig()):
        super().__init__()
        self.cfg = cfg
        self.inp = nn.Sequential(nn.LayerNorm(cfg.d_in), nn.Linear(cfg.d_in, cfg.d_bottleneck), nn.GELU())
        self.drop = nn.Dropout(cfg.dropout)
        if cfg.arch == "lstm":
            self.rnn = nn.LSTM(
                cfg.d_bottleneck,
                cfg.d_hidden,
                num_layers=cfg.n_layers,
                batch_first=True,
                bidirectional=True,
                dropout=cfg.dropout,
            )
        elif cfg.arch == "conv":
            self.blocks = nn.Sequential(
                *[_ConvBlock(cfg.d_bottleneck, cfg.kernel, cfg.dropout) for _ in range(cfg.n_layers)]
            )
        else:
            raise ModelError(f"unknown phone head arch {cfg.arch!r} (conv or lstm)")
        self.out = nn.Linear(self.d_state, cfg.n_classes)

    @property
    def d_state(self) -> int:
        return 2 * self.cfg.d_hidden if self.cfg.arch == "lstm" else self.cfg.d_bottleneck

    def forward(self, frames: torch.Tensor, lengths: torch.Tensor | None = None):
        """(B, T, d_in) -> (log posteriors (B, T, C), hidden states (B, T, d_state))."""
        x = self.drop(self.inp(frames))
        if self.cfg.arch == "conv":
            if lengths is not None:  # padding must not leak into real frames through the kernel
                mask = torch.arange(frames.shape[1])[None, :] < lengths[:, None]
                x = x * mask[..., None]
            h = x
            for block in self.blocks:
                h = block(h)
                if lengths is not None:
                    h = h * mask[..., None]
        else:
            if lengths is not None:
                x = nn.utils.rnn.pack_padded_sequence(
                    x, lengths.cpu(), batch_first=True, enforce_sorted=False
                )
            h, _ = self.rnn(x)
            if lengths is not None:
                h, _ = nn.utils.rnn.pad_packed_sequence(h, batch_first=True, total_length=frames.shape[1])
        return self.out(self.drop(h)).log_softmax(-1), h

    @torch.no_grad()
    def posteriors(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Log posteriors (T, C) and hidden states (T, 2 * d_hidden) of one recording's frames (T, d_in)."""
        self.eval()
        logp, h = self(torch.as_tensor(np.asarray(frames, dtype=np.float32))[None])
        return logp[0].numpy(), h[0].numpy()

    def save(self, out_dir: str | Path, **provenance) -> Path:
        from safetensors.torch import save_file

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        save_file({k: v.detach().contiguous() for k, v in self.state_dict().items()}, out / HEAD_WEIGHTS)
        (out / HEAD_JSON).write_text(json.dumps({"config": asdict(self.cfg), **provenance}, indent=2))
        return out

    @classmethod
    def load(cls, folder: str | Path = DEFAULT_HEAD) -> PhoneHead:
        from safetensors.torch import load_file

        folder = Path(folder)
        if not (folder / HEAD_JSON).is_file() or not (folder / HEAD_WEIGHTS).is_file():
            raise ModelError(f"no phone recogniser in {folder} (needs {HEAD_JSON} and {HEAD_WEIGHTS})")
        info = json.loads((folder / HEAD_JSON).read_text())
        head = cls(HeadConfig(**info["config"]))
        state = {k: v.float() for k, v in load_file(folder / HEAD_WEIGHTS).items()}
        head.load_state_dict(state)
        return head.eval().requires_grad_(False)
