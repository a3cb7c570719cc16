"""Plain PCM helpers on numpy arrays: WAV in and out, resampling, levels, trimming, G.711.

Samples are float64 in [-1, 1). Levels are in dBFS measured as RMS against a full-scale square
wave (so a full-scale sine reads -3 dBFS).
"""
from __future__ import annotations

import math
import os
import tempfile
import wave
from pathlib import Path

import numpy as np

NARROWBAND_RATE = 8000
WIDEBAND_RATE = 16000

# Raw formats Asterisk writes, by extension: (sample rate, codec).
_RAW_FORMATS = {
    ".sln": (8000, "slin"), ".raw": (8000, "slin"), ".sln16": (16000, "slin"),
    ".ulaw": (8000, "ulaw"), ".ul": (8000, "ulaw"), ".pcm": (8000, "ulaw"),
    ".alaw": (8000, "alaw"), ".al": (8000, "alaw"),
}

_FLOOR = 1e-10  # keeps log10 finite on digital silence


class PcmFormatError(ValueError):
    """The bytes are not PCM audio this module can read."""


def read_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """Mono samples and rate of a RIFF WAV (any PCM width, channels mixed) or a raw Asterisk file."""
    path = Path(path)
    raw = _RAW_FORMATS.get(path.suffix.lower())
    if raw is not None:
        rate, codec = raw
        data = path.read_bytes()
        if codec == "slin":
            return np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2") / 32768.0, rate
        codes = np.frombuffer(data, dtype=np.uint8)
        pcm = ulaw_decode(codes) if codec == "ulaw" else alaw_decode(codes)
        return pcm / 32768.0, rate
    try:
        with wave.open(str(path), "rb") as w:
            rate, width, channels = w.getframerate(), w.getsampwidth(), w.getnchannels()
            data = w.readframes(w.getnframes())
    except (wave.Error, EOFError) as e:
        raise PcmFormatError(f"{path}: not a PCM WAV file ({e})") from None
    return pcm_bytes_to_float(data, width, channels), rate


def pcm_bytes_to_float(data: bytes, width: int, channels: int) -> np.ndarray:
    """Interleaved little-endian PCM of 1-4 bytes per sample to mono float."""
    n = len(data) // (width * channels) * width * channels
    buf = np.frombuffer(data[:n], dtype=np.uint8)
    if width == 1:  # 8-bit WAV is unsigned
        x = (buf.astype(np.float64) - 128.0) / 128.0
    elif width in (2, 4):
        x = np.frombuffer(data[:n], dtype=f"<i{width}") / float(1 << (8 * width - 1))
    elif width == 3:
        b = buf.reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        x = np.where(v >= 1 << 23, v - (1 << 24), v) / float(1 << 23)
    else:
        raise PcmFormatError(f"unsupported sample width {width}")
    return x.reshape(-1, channels).mean(axis=1) if channels > 1 else x


def to_int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 32768.0), -32768, 32767).astype("<i2")


def write_wav(path: str | Path, samples: np.ndarray, rate: int) -> None:
    """A canonical 44-byte-header mono 16-bit WAV, written atomically so a call never plays half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f, wave.open(f, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(to_int16(samples).tobytes())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _smooth_length(n: int) -> int:
    """The smallest m >= n with no prime factor above 5, so the FFTs stay fast."""
    m = n
    while True:
        k = m
        for p in (2, 3, 5):
            while k % p == 0:
                k //= p
        if k == 1:
            return m
        m += 1


def resample(x: np.ndarray, src: int, dst: int) -> np.ndarray:
    """Band-limited resampling in the frequency domain, with a raised-cosine roll-off below the
    lower Nyquist frequency (no aliasing into the telephone band)."""
    if src == dst or len(x) == 0:
        return np.array(x, dtype=np.float64)
    g = math.gcd(src, dst)
    up, down = dst // g, src // g
    pad = src // 10  # room for the filter's ringing, so the tail does not wrap onto the start
    m = _smooth_length(-(-(len(x) + pad) // down))
    n_in, n_out = down * m, up * m
    spec = np.fft.rfft(x, n_in)
    out_bins = n_out // 2 + 1
    keep = min(len(spec), out_bins)
    freqs = np.arange(keep) * (src / n_in)
    nyquist = min(src, dst) / 2
    lo, hi = 0.90 * nyquist, 0.99 * nyquist
    taper = np.clip((hi - freqs) / (hi - lo), 0.0, 1.0)
    taper = 0.5 - 0.5 * np.cos(np.pi * taper)
    out_spec = np.zeros(out_bins, dtype=complex)
    out_spec[:keep] = spec[:keep] * taper
    y = np.fft.irfft(out_spec, n_out) * (n_out / n_in)
    return y[: int(round(len(x) * dst / src))]


def frame_dbfs(x: np.ndarray, rate: int, frame_s: float = 0.01) -> np.ndarray:
    """RMS level of consecutive frames (the last partial frame dropped)."""
    n = max(1, int(rate * frame_s))
    frames = x[: len(x) // n * n].reshape(-1, n)
    return 10 * np.log10(np.mean(frames**2, axis=1) + _FLOOR)


def peak_dbfs(x: np.ndarray) -> float:
    return 20 * math.log10(float(np.max(np.abs(x))) + _FLOOR) if len(x) else -200.0


# Speech-level measurement and trimming (a simplified ITU-T P.56 idea: measure only the frames
# that carry sound, so pauses do not lower the measured level).
ACTIVE_BELOW_LOUDEST_DB = 35.0
TRIM_BELOW_LOUDEST_DB = 40.0
SILENT_FILE_DBFS = -60.0      # a file whose loudest 10 ms frame is below this is silence
TRIM_PAD_S = 0.05             # kept around the sound so consonant onsets survive


def loudest_frame_dbfs(x: np.ndarray, rate: int) -> float:
    levels = frame_dbfs(x, rate)
    return float(levels.max()) if len(levels) else -200.0


def active_level_dbfs(x: np.ndarray, rate: int) -> float:
    levels = frame_dbfs(x, rate)
    active = levels >= max(levels.max() - ACTIVE_BELOW_LOUDEST_DB, SILENT_FILE_DBFS)
    return float(10 * np.log10(np.mean(10 ** (levels[active] / 10)) + _FLOOR))


def trim_silence(x: np.ndarray, rate: int) -> np.ndarray:
    """Drop leading and trailing frames quieter than the loudest one by 40 dB, keeping 50 ms pads."""
    frame = int(rate * 0.01)
    levels = frame_dbfs(x, rate)
    loud = np.flatnonzero(levels >= max(levels.max() - TRIM_BELOW_LOUDEST_DB, SILENT_FILE_DBFS))
    if len(loud) == 0:
        return x[:0]
    pad = int(rate * TRIM_PAD_S)
    start = max(0, loud[0] * frame - pad)
    end = min(len(x), (loud[-1] + 1) * frame + pad)
    return x[start:end]


# Loudness target of every prompt: active speech at -20 dBFS RMS, peaks at most -3 dBFS. -20 dBFS is
# about -17 dBm0 on a G.711 line (0 dBm0 = -3.14 dBFS), close to the nominal speech level, and leaves
# headroom so the codec never clips.
TARGET_ACTIVE_DBFS = -20.0
PEAK_CEILING_DBFS = -3.0


def normalise(x: np.ndarray, rate: int) -> tuple[np.ndarray, float]:
    """Scale to the loudness target; returns the samples and the gain applied in dB."""
    gain = TARGET_ACTIVE_DBFS - active_level_dbfs(x, rate)
    gain = min(gain, PEAK_CEILING_DBFS - peak_dbfs(x))
    return x * 10 ** (gain / 20), gain


# G.711 (ITU-T G.711 segment tables, as in the reference g711.c), on int16 sample values.
_ULAW_BIAS = 0x84
_ULAW_CLIP14 = 8158   # 14-bit magnitude; +bias stays below 8192 (the top code)
_ALAW_SEG_END = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])


def ulaw_encode(pcm: np.ndarray) -> np.ndarray:
    v = np.asarray(pcm, dtype=np.int32) >> 2  # 14-bit, rounding down as the reference does
    mask = np.where(v < 0, 0x7F, 0xFF)
    mag = np.minimum(np.abs(v), _ULAW_CLIP14) + (_ULAW_BIAS >> 2)
    exponent = np.floor(np.log2(mag)).astype(np.int32) - 5
    mantissa = (mag >> (exponent + 1)) & 0x0F
    return (((exponent << 4) | mantissa) ^ mask).astype(np.uint8)


def ulaw_decode(codes: np.ndarray) -> np.ndarray:
    u = ~np.asarray(codes, dtype=np.int32) & 0xFF
    exponent = (u >> 4) & 0x07
    mag = (((u & 0x0F) << 3) + _ULAW_BIAS) << exponent
    return np.where(u & 0x80, _ULAW_BIAS - mag, mag - _ULAW_BIAS).astype(np.int16)


def alaw_encode(pcm: np.ndarray) -> np.ndarray:
    v = np.asarray(pcm, dtype=np.int32) >> 3
    mask = np.where(v >= 0, 0xD5, 0x55)
    v = np.where(v >= 0, v, -v - 1)
    seg = np.searchsorted(_ALAW_SEG_END, v)
    shift = np.where(seg < 2, 1, seg)
    aval = (np.minimum(seg, 7) << 4) | ((v >> shift) & 0x0F)
    aval = np.where(seg >= 8, 0x7F, aval)
    return ((aval ^ mask) & 0xFF).astype(np.uint8)


def alaw_decode(codes: np.ndarray) -> np.ndarray:
    a = np.asarray(codes, dtype=np.int32) ^ 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    t = np.where(seg == 0, t + 8, t + 0x108)
    t = np.where(seg > 1, t << np.maximum(seg - 1, 0), t)
    return np.where(a & 0x80, t, -t).astype(np.int16)
