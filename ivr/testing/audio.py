"""What a caller heard, from a recording made on the caller's side (the world Asterisk).

The recording went through G.711 on RTP, so it may differ from the prompt files by gain, codec noise,
leading silence, small timing gaps and added noise. Matching is by normalised cross-correlation
(FFT) of pre-emphasised waveforms, per 0.4 s chunk of each prompt (each half aligned on its own):
a chunk may sit up to CHUNK_TOLERANCE_S away from where the prompt's start predicts, which absorbs
jitter gaps, and the chunks tell how much of a prompt was heard.

Partial prompts: a prompt whose first chunks match but whose later ones do not (the caller pressed a
digit and playback stopped, or hung up and the recording ended) is returned with `coverage` < 1
(`partial` is True) when at least `min_partial_s` of it matched. Prompts that share an identical
opening cannot be told apart while only that opening was heard; a whole prompt found over the same
span always wins over a partial one.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ivr.sounds import pcm

RATE = pcm.NARROWBAND_RATE
HOP = 80                     # 10 ms: the grid of candidate start times
CHUNK_S = 0.4
CHUNK_TOLERANCE_S = 0.03
PRE_EMPHASIS = 0.95          # flattens the speech spectrum: sharper peaks, fewer look-alikes
# Chunks quieter than the prompt's loudest chunk by this much are pauses: not scored.
QUIET_CHUNK_DB = 30.0
# A window of the recording quieter than its speech by this much never correlates highly.
RECORDING_FLOOR_DB = 30.0

AudioSource = str | Path | np.ndarray


@dataclass(frozen=True)
class Match:
    name: str
    start_s: float      # where the prompt began in the recording
    end_s: float        # where the matched part ends (the prompt's end when coverage is 1)
    score: float        # mean correlation of the matched chunks, 0..1
    coverage: float     # fraction of the prompt that was heard

    @property
    def partial(self) -> bool:
        return self.coverage < 1.0


def load(source: AudioSource) -> np.ndarray:
    """Samples at 8 kHz from a file (WAV of any rate, raw sln/ulaw/alaw) or an 8 kHz array."""
    if isinstance(source, np.ndarray):
        return source.astype(np.float64)
    samples, rate = pcm.read_audio(source)
    return pcm.resample(samples, rate, RATE)


def _emphasise(x: np.ndarray) -> np.ndarray:
    y = x - np.mean(x) if len(x) else x
    return np.concatenate([y[:1], y[1:] - PRE_EMPHASIS * y[:-1]])


@dataclass(frozen=True)
class _Piece:
    offset: int          # hops from the prompt's start
    samples: np.ndarray  # emphasised
    weight: float        # its share of the chunk's energy


@dataclass(frozen=True)
class _Template:
    name: str
    length: int                     # samples
    bounds: tuple[int, ...]         # chunk boundaries in hops, first 0, last ceil(length / HOP)
    chunks: tuple[tuple[_Piece, ...] | None, ...]  # None for a pause


def _template(name: str, x: np.ndarray) -> _Template:
    """Chunks of about CHUNK_S, each scored as two halves aligned independently: a 20 ms gap
    inside a chunk then costs one half, not the whole chunk."""
    y = _emphasise(x)
    hops = -(-len(y) // HOP)
    k = max(1, round(hops * HOP / (CHUNK_S * RATE)))
    bounds = tuple(int(round(i * hops / k)) for i in range(k + 1))
    energy = np.array([np.sum(y[bounds[i] * HOP: bounds[i + 1] * HOP] ** 2) for i in range(k)])
    loud = energy >= energy.max() * 10 ** (-QUIET_CHUNK_DB / 10)
    chunks: list[tuple[_Piece, ...] | None] = []
    for i in range(k):
        if not loud[i]:
            chunks.append(None)
            continue
        lo, hi = bounds[i], bounds[i + 1]
        cuts = (lo, (lo + hi) // 2, hi)
        halves = [(a, y[a * HOP: b * HOP]) for a, b in zip(cuts, cuts[1:]) if b > a]
        chunks.append(tuple(_Piece(a, h, float(np.sum(h**2) / energy[i])) for a, h in halves))
    return _Template(name, len(y), bounds, tuple(chunks))


class PromptMatcher:
    """Prompts prepared once, matched against any number of recordings."""

    def __init__(self, candidates: Mapping[str, AudioSource], *, threshold: float = 0.7,
                 chunk_threshold: float = 0.5, min_partial_s: float = 0.8) -> None:
        self.threshold = threshold
        self.chunk_threshold = chunk_threshold
        self.min_partial_s = min_partial_s
        self._templates = [_template(name, load(src)) for name, src in candidates.items()]

    def find(self, recording: AudioSource) -> list[Match]:
        rec = _emphasise(load(recording))
        found: list[Match] = []
        if len(rec) < HOP:
            return found
        longest = max((len(p.samples) for t in self._templates for c in t.chunks if c
                       for p in c), default=0)
        nfft = _fft_size(len(rec) + longest)
        spectrum = np.fft.rfft(rec, nfft)
        energy = np.concatenate([[0.0], np.cumsum(rec**2)])
        floor = _speech_power(rec) * 10 ** (-RECORDING_FLOOR_DB / 10)
        for t in self._templates:
            found.extend(self._find_one(t, rec, spectrum, nfft, energy, floor))
        return _non_overlapping(found)

    def _find_one(self, t: _Template, rec: np.ndarray, spectrum: np.ndarray, nfft: int,
                  energy: np.ndarray, floor: float) -> list[Match]:
        grid = -(-len(rec) // HOP)
        tol = max(1, round(CHUNK_TOLERANCE_S * RATE / HOP))
        k = len(t.chunks)
        # scores[i, g]: how well chunk i sits near where a prompt starting at hop g puts it.
        scores = np.full((k, grid), np.nan)
        ncc_of: list[np.ndarray | None] = []   # of each chunk's first half, to refine the start
        for i, chunk in enumerate(t.chunks):
            if chunk is None:
                ncc_of.append(None)
                continue
            total = np.zeros(grid)
            n = grid
            for j, piece in enumerate(chunk):
                ncc = _ncc(piece.samples, spectrum, nfft, energy, floor)
                if j == 0:
                    ncc_of.append(ncc)
                widened = _sliding_max(_block_max(ncc, HOP), tol)
                n = max(0, min(n, len(widened) - piece.offset))
                total[:n] += piece.weight * widened[piece.offset:piece.offset + n]
            scores[i, :n] = total[:n]
        voiced = np.array([c is not None for c in t.chunks])
        hits = np.where(np.isnan(scores), 0.0, scores) * voiced[:, None]
        prefix_mean = np.cumsum(hits, axis=0) / np.maximum(np.cumsum(voiced), 1)[:, None]
        matched = (hits >= self.chunk_threshold) & voiced[:, None]
        # A prompt of three chunks or more may lose one in three to packet loss and still count.
        misses = np.cumsum(voiced[:, None] & ~matched, axis=0)
        allowed = int(voiced.sum()) // 3
        good = matched & (misses <= allowed) & (prefix_mean >= self.threshold)
        last = np.where(good.any(axis=0), k - 1 - np.argmax(good[::-1], axis=0), -1)
        observed = ~np.isnan(scores[voiced]).any(axis=0)
        full = observed & (misses[-1] <= allowed) & (prefix_mean[-1] >= self.threshold)
        # A partial match ends at the boundary after its last matching chunk.
        covered_hops = np.where(full, t.bounds[-1], np.array(t.bounds)[last + 1])
        score = np.where(full, prefix_mean[-1], prefix_mean[np.maximum(last, 0), np.arange(grid)])
        evidence = np.where(full | (last >= 0), score * covered_hops, 0.0)
        matches = []
        min_hops = self.min_partial_s * RATE / HOP
        while True:
            g = int(np.argmax(evidence))
            if evidence[g] <= 0:
                break
            if full[g] or covered_hops[g] >= min_hops:
                start = self._refine_start(t, ncc_of, g, tol)
                coverage = 1.0 if full[g] else min(1.0, float(covered_hops[g]) * HOP / t.length)
                matches.append(Match(t.name, start / RATE, (start + coverage * t.length) / RATE,
                                     round(float(score[g]), 3), round(coverage, 3)))
            # Another occurrence of the same prompt cannot start within the span just found.
            span = max(int(covered_hops[g]), 1)
            evidence[max(0, g - span + 1): g + span] = 0
        return matches

    @staticmethod
    def _refine_start(t: _Template, ncc_of: list[np.ndarray | None], g: int, tol: int) -> int:
        """Sample-exact start from the first loud chunk's correlation peak."""
        i = next(i for i, n in enumerate(ncc_of) if n is not None)
        ncc = ncc_of[i]
        centre = (g + t.bounds[i]) * HOP
        lo, hi = max(0, centre - tol * HOP), min(len(ncc), centre + (tol + 1) * HOP)
        if hi <= lo:
            return g * HOP
        return int(lo + np.argmax(ncc[lo:hi])) - t.bounds[i] * HOP


def find_prompts(recording_path: AudioSource, candidates: Mapping[str, AudioSource],
                 **options: float) -> list[Match]:
    """Which candidate prompts occur in the recording, in time order (see PromptMatcher)."""
    return PromptMatcher(candidates, **options).find(recording_path)


def _non_overlapping(matches: list[Match]) -> list[Match]:
    """Where matches overlap, keep the one that explains more of the recording."""
    ranked = sorted(matches, key=lambda m: (not m.partial, (m.end_s - m.start_s) * m.score),
                    reverse=True)
    kept: list[Match] = []
    for m in ranked:
        if all(_overlap(m, k) <= 0.5 * min(m.end_s - m.start_s, k.end_s - k.start_s) for k in kept):
            kept.append(m)
    return sorted(kept, key=lambda m: m.start_s)


def _overlap(a: Match, b: Match) -> float:
    return max(0.0, min(a.end_s, b.end_s) - max(a.start_s, b.start_s))


def _fft_size(n: int) -> int:
    size = 1
    while size < n:
        size *= 2
    return size


def _speech_power(x: np.ndarray) -> float:
    """Mean power of the loud 10 ms frames (those within 35 dB of the loudest)."""
    frames = x[: len(x) // HOP * HOP].reshape(-1, HOP)
    power = np.mean(frames**2, axis=1)
    if len(power) == 0 or power.max() <= 0:
        return 1e-12
    return float(np.mean(power[power >= power.max() * 10 ** -3.5]))


def _ncc(chunk: np.ndarray, spectrum: np.ndarray, nfft: int, energy: np.ndarray,
         floor: float) -> np.ndarray:
    """Normalised correlation of chunk with every window of the recording (index = window start)."""
    n = len(energy) - 1 - len(chunk) + 1
    if n <= 0:
        return np.zeros(0)
    corr = np.fft.irfft(spectrum * np.conj(np.fft.rfft(chunk, nfft)), nfft)[:n]
    window_energy = energy[len(chunk):len(chunk) + n] - energy[:n]
    window_energy = np.maximum(window_energy, floor * len(chunk))
    return corr / np.sqrt(window_energy * np.sum(chunk**2))


def _block_max(x: np.ndarray, size: int) -> np.ndarray:
    blocks = -(-len(x) // size)
    padded = np.full(blocks * size, -np.inf)
    padded[: len(x)] = x
    return padded.reshape(blocks, size).max(axis=1)


def _sliding_max(x: np.ndarray, half: int) -> np.ndarray:
    padded = np.concatenate([np.full(half, -np.inf), x, np.full(half, -np.inf)])
    return np.max([padded[i:i + len(x)] for i in range(2 * half + 1)], axis=0)


# Silence and tones.

def _frames(x: np.ndarray, frame: int) -> np.ndarray:
    return x[: len(x) // frame * frame].reshape(-1, frame)


def _runs(mask: np.ndarray, frame_s: float, min_seconds: float) -> list[tuple[float, float]]:
    """(start, end) seconds of runs of True at least min_seconds long."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(round(float(s) * frame_s, 3), round(float(e) * frame_s, 3))
            for s, e in zip(starts, ends) if (e - s) * frame_s >= min_seconds - 1e-9]


def silences(recording_path: AudioSource, min_seconds: float = 0.3,
             threshold_dbfs: float = -45.0) -> list[tuple[float, float]]:
    """Stretches of at least min_seconds whose 10 ms frames are all below threshold_dbfs (RMS)."""
    x = load(recording_path)
    levels = 10 * np.log10(np.mean(_frames(x, HOP) ** 2, axis=1) + 1e-12)
    return _runs(levels < threshold_dbfs, HOP / RATE, min_seconds)


# 100 ms frames resolve 10 Hz, enough to tell 425 Hz (Europe) from 440+480 Hz (US ringback).
TONE_FRAME_S = 0.1
TONE_BANDWIDTH_HZ = 12.0
TONE_MIN_DBFS = -50.0
TONE_PURITY = 0.6          # share of a frame's power within the band around the tone


def _tone_mask(x: np.ndarray, freq_hz: float, bandwidth_hz: float) -> np.ndarray:
    frame = int(TONE_FRAME_S * RATE)
    frames = _frames(x, frame) * np.hanning(frame)
    spectrum = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    freqs = np.fft.rfftfreq(frame, 1 / RATE)
    band = np.abs(freqs - freq_hz) < bandwidth_hz
    total = spectrum.sum(axis=1) + 1e-20
    level = 10 * np.log10(np.mean(_frames(x, frame) ** 2, axis=1) + 1e-12)
    return (spectrum[:, band].sum(axis=1) / total >= TONE_PURITY) & (level >= TONE_MIN_DBFS)


def tone_segments(recording_path: AudioSource, freq_hz: float, *, min_seconds: float = 0.2,
                  bandwidth_hz: float = TONE_BANDWIDTH_HZ) -> list[tuple[float, float]]:
    """(start, end) of stretches where a steady tone near freq_hz dominates, e.g. 425 Hz ringback."""
    return _runs(_tone_mask(load(recording_path), freq_hz, bandwidth_hz), TONE_FRAME_S, min_seconds)


def _window(mask: np.ndarray, start: float, end: float | None) -> np.ndarray:
    lo = int(round(start / TONE_FRAME_S))
    return mask[lo:] if end is None else mask[lo:int(round(end / TONE_FRAME_S))]


def tone_fraction(recording_path: AudioSource, freq_hz: float, start: float = 0.0,
                  end: float | None = None, *, bandwidth_hz: float = TONE_BANDWIDTH_HZ) -> float:
    """Fraction of the window [start, end) seconds during which the tone is present."""
    window = _window(_tone_mask(load(recording_path), freq_hz, bandwidth_hz), start, end)
    return float(window.mean()) if len(window) else 0.0


def has_tone(recording_path: AudioSource, freq_hz: float, start: float = 0.0,
             end: float | None = None, *, min_seconds: float = 0.2,
             bandwidth_hz: float = TONE_BANDWIDTH_HZ) -> bool:
    """True when the tone sounds for at least min_seconds in total within [start, end)."""
    window = _window(_tone_mask(load(recording_path), freq_hz, bandwidth_hz), start, end)
    return float(window.sum()) * TONE_FRAME_S >= min_seconds - 1e-9
