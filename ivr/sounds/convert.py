"""Admin recordings into what Asterisk plays best: sounds/<lang>/<name>.wav (8 kHz mono 16-bit)
and <name>.wav16 (16 kHz, Asterisk's wideband WAV), trimmed of silence and normalised.

Loudness: active speech (the 10 ms frames within 35 dB of the loudest) at -20 dBFS RMS, with the
gain capped so peaks stay at or below -3 dBFS (see ivr.sounds.pcm for why these numbers).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ivr.config import Settings
from ivr.errors import InvalidInput
from ivr.sounds import pcm

NAME_RE = re.compile(r"^[A-Za-z0-9_-]+$")
LANG_RE = re.compile(r"^[a-z]{2,3}(_[A-Za-z0-9]+)*$")
# What every prompt is stored as, in the order Asterisk prefers them for a G.711 call.
EXTENSIONS = (".wav", ".wav16")
_RATES = {".wav": pcm.NARROWBAND_RATE, ".wav16": pcm.WIDEBAND_RATE}
MIN_SOUND_S = 0.1


class SoundFileError(InvalidInput):
    """An audio file that cannot become a prompt: unreadable, empty or silent."""

    error_id = "invalid-sound"


@dataclass(frozen=True)
class ImportResult:
    paths: tuple[Path, ...]   # the .wav and .wav16 written
    duration_s: float         # after trimming
    gain_db: float            # applied by normalisation


def decode(path: Path) -> tuple[np.ndarray, int]:
    """Any format ffmpeg reads (WAV, MP3, OGG, M4A, ...) as mono float samples."""
    from pydub import AudioSegment  # imported late: it warns at import when ffmpeg is missing

    if not path.is_file():
        raise SoundFileError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise SoundFileError(f"{path}: the file is empty")
    try:
        seg = AudioSegment.from_file(path)
    except Exception as e:  # pydub/ffmpeg fail in many ways on a damaged file; all mean "unreadable"
        detail = str(e).strip().splitlines()
        reason = f" ({detail[0][:120]})" if detail and not detail[0].startswith("Decoding failed") else ""
        raise SoundFileError(f"{path}: not a readable audio file (WAV, MP3, OGG, M4A){reason}") from None
    return pcm.pcm_bytes_to_float(seg.raw_data, seg.sample_width, seg.channels), seg.frame_rate


def prepare(samples: np.ndarray, rate: int, *, source: str) -> tuple[np.ndarray, float]:
    """Trimmed and normalised samples plus the gain applied; refuses empty or silent audio."""
    if len(samples) < rate * 0.01:
        raise SoundFileError(f"{source}: contains no audio")
    loudest = pcm.loudest_frame_dbfs(samples, rate)
    if loudest < pcm.SILENT_FILE_DBFS:
        raise SoundFileError(f"{source}: contains only silence (loudest part {loudest:.0f} dBFS)")
    trimmed = pcm.trim_silence(samples, rate)
    if len(trimmed) < rate * MIN_SOUND_S:
        raise SoundFileError(f"{source}: less than {MIN_SOUND_S:g} s of sound after trimming silence")
    return pcm.normalise(trimmed, rate)


def write_prompt(samples: np.ndarray, rate: int, base: Path) -> tuple[Path, ...]:
    """base.wav and base.wav16 from samples at any rate."""
    written = []
    for ext in EXTENSIONS:
        out = base.with_name(base.name + ext)
        pcm.write_wav(out, pcm.resample(samples, rate, _RATES[ext]), _RATES[ext])
        written.append(out)
    return tuple(written)


def import_sound(settings: Settings, file: Path, name: str, language: str = "ru") -> ImportResult:
    if not NAME_RE.match(name):
        raise InvalidInput(f"prompt name {name!r}: use letters, digits, '-' and '_' only")
    if not LANG_RE.match(language):
        raise InvalidInput(f"language {language!r}: expected a code like ru or en")
    samples, rate = decode(file)
    prepared, gain = prepare(samples, rate, source=str(file))
    base = settings.path(settings.sounds_dir) / language / name
    return ImportResult(write_prompt(prepared, rate, base), len(prepared) / rate, gain)
