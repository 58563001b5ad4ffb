"""Whisper-base in CTranslate2 format, run fast on CPU.

`CT2WhisperEncoder` runs the CTranslate2 encoder on the audio's own length (no 30 s pad), which is
what makes feature extraction cheap on a 2-core CPU. (The same model.bin's weights are read for the
torch audio tower by `ct2_file.read_ct2_variables`.)
"""

from pathlib import Path

import numpy as np

from lmm_apa.errors import ModelError


class CT2WhisperEncoder:
    """Frozen Whisper encoder run by CTranslate2 on the audio's own length, pooled as Qwen2-Audio pools.

    Whisper pads every input to 30 s; its encoder still gives useful frames on shorter input (the
    position table is simply cut), and skipping the pad makes a 4 s utterance ~10x cheaper (see the
    report in tests/models). Output: (T_mel // 4, 512) at 25 Hz, the rate of Qwen2-Audio's audio tokens.

    Difference from the torch `audio_tower` path, stated honestly: Qwen2AudioEncoder applies its final
    LayerNorm AFTER the 2x average pool, CTranslate2 applies it inside the encoder, so we pool
    LayerNorm-ed frames. The two agree closely (tests/models/test_whisper_ct2.py) but not exactly; the
    projector is trained on these features, so the model is consistent with itself.
    """

    n_mels = 80
    d_model = 512

    def __init__(self, model_dir: Path, threads: int = 0):
        """threads: CPU threads for the encoder; 0 = torch's current setting (torch.get_num_threads())."""
        import ctranslate2
        import torch
        from faster_whisper.feature_extractor import FeatureExtractor

        torch_threads = torch.get_num_threads()
        # float32 compute: on CPU it is as fast as int8 for this small encoder and keeps the features exact.
        self._model = ctranslate2.models.Whisper(
            str(model_dir), device="cpu", compute_type="float32", intra_threads=threads or torch_threads
        )
        # CTranslate2 sets the OpenMP thread count, which torch shares: give torch its setting back.
        torch.set_num_threads(torch_threads)
        self._mel = FeatureExtractor(feature_size=self.n_mels)

    def mel(self, wave: np.ndarray) -> np.ndarray:
        """Log-mel (80, len // 160) of 16 kHz audio, Whisper's normalisation, no 30 s pad."""
        return self._mel(np.asarray(wave, dtype=np.float32), padding=0)

    def encode_mel(self, mel: np.ndarray) -> np.ndarray:
        """Encoder frames (len // 2 rounded up, 512) before pooling, for one log-mel (80, len)."""
        import ctranslate2

        if mel.shape[-1] < 4:
            raise ModelError(f"audio too short to encode: {mel.shape[-1]} mel frames (need at least 4)")
        if mel.shape[-1] > 3000:
            raise ModelError(f"audio longer than 30 s ({mel.shape[-1]} mel frames): Whisper cannot encode it")
        features = ctranslate2.StorageView.from_array(np.ascontiguousarray(mel[None], dtype=np.float32))
        return np.array(self._model.encode(features, to_cpu=True))[0]

    def frames(self, wave: np.ndarray) -> np.ndarray:
        """(T, 512) encoder frames at 50 Hz, before pooling: what the phone aligner reads."""
        return self.encode_mel(self.mel(wave))

    def __call__(self, wave: np.ndarray) -> np.ndarray:
        """(T, 512) audio features: encoder frames, average-pooled in pairs as Qwen2-Audio pools."""
        return pool_frames(self.frames(wave))


def pool_frames(frames: np.ndarray) -> np.ndarray:
    """50 Hz encoder frames -> 25 Hz audio features (pairs averaged, an odd last frame dropped)."""
    n = frames.shape[0] // 2
    return frames[: 2 * n].reshape(n, 2, -1).mean(axis=1)


class CT2WhisperReader:
    """Whisper-base's decoder reading a given text against a recording: the probability of each of
    the text's tokens, teacher-forced (CTranslate2's ``Whisper.align``), English transcription,
    no timestamps. A word the speaker said clearly gets tokens the decoder expected; a word said
    badly, or not at all, gets tokens it did not.

    The encoder runs on the recording's own length, as `CT2WhisperEncoder`'s does: on corpus
    sentences the text's mean log-probability is within ~0.3 of what the 30 s padded input gives, at a
    fifth of the cost.
    """

    def __init__(self, model_dir: Path, threads: int = 0):
        import tokenizers
        from faster_whisper.tokenizer import Tokenizer

        self.encoder = CT2WhisperEncoder(model_dir, threads)
        self._tok = Tokenizer(
            tokenizers.Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json")),
            True,
            task="transcribe",
            language="en",
        )

    def word_tokens(self, words: list[str]) -> list[list[int]]:
        """Each word's token ids as it stands in a sentence: sentence case, a space before it."""
        said = [w.lower() for w in words]
        if said:
            said[0] = said[0][:1].upper() + said[0][1:]
        return [self._tok.encode(" " + w) for w in said]

    def token_logprobs(self, wave: np.ndarray, words: list[str]) -> list[np.ndarray]:
        """Per word, the natural-log probabilities of its tokens given the audio and the words before."""
        import ctranslate2

        if not words:
            return []
        mel = self.encoder.mel(wave)
        # the encoder's own pass (and its length checks); align reads encoded frames as they are
        frames = self.encoder.encode_mel(mel)
        feats = ctranslate2.StorageView.from_array(np.ascontiguousarray(frames[None], dtype=np.float32))
        tokens = self.word_tokens(words)
        flat = [t for w in tokens for t in w]
        result = self.encoder._model.align(
            feats, list(self._tok.sot_sequence) + [self._tok.no_timestamps], [flat], mel.shape[-1]
        )[0]
        logp = np.log(np.clip(np.asarray(result.text_token_probs, dtype=np.float64), 1e-12, 1.0))
        bounds = np.cumsum([0] + [len(t) for t in tokens])
        return [logp[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
