"""Silence and tone detection on caller-side recordings."""
from __future__ import annotations

import numpy as np
import pytest

from ivr.sounds import pcm
from ivr.testing.audio import has_tone, silences, tone_fraction, tone_segments

RATE = 8000


def tone(freq: float, seconds: float, amplitude: float = 0.3) -> np.ndarray:
    return amplitude * np.sin(2 * np.pi * freq * np.arange(int(RATE * seconds)) / RATE)


def quiet(seconds: float, dbfs: float = -200.0) -> np.ndarray:
    rng = np.random.default_rng(int(seconds * 1000))
    return rng.normal(0, 10 ** (dbfs / 20), int(RATE * seconds))


def ulaw(x: np.ndarray) -> np.ndarray:
    return pcm.ulaw_decode(pcm.ulaw_encode(pcm.to_int16(x))) / 32768


def test_silences_with_comfort_noise_and_short_pauses():
    x = ulaw(np.concatenate([
        quiet(1.0), tone(700, 0.5), quiet(0.2), tone(700, 0.5),    # a 0.2 s pause: too short
        quiet(1.5, -65.0), tone(700, 0.3), quiet(0.5, -30.0),      # comfort noise counts, loud hiss not
        tone(700, 0.2), quiet(0.7)]))
    assert silences(x) == [(0.0, 1.0), (2.2, 3.7), (4.7, 5.4)]
    assert silences(x, min_seconds=0.1) == [(0.0, 1.0), (1.5, 1.7), (2.2, 3.7), (4.7, 5.4)]
    assert silences(x, threshold_dbfs=-20.0)[2] == (4.0, 4.5)


def test_silences_from_a_file(tmp_path):
    pcm.write_wav(tmp_path / "r.wav", np.concatenate([tone(500, 1.0), quiet(2.0)]), RATE)
    assert silences(tmp_path / "r.wav") == [(1.0, 3.0)]


def ringback_ru(rings: int) -> np.ndarray:
    """425 Hz, 1 s on, 4 s off (GOST cadence), through G.711 with a little line noise."""
    one = np.concatenate([tone(425, 1.0, 0.2), np.zeros(RATE * 4)])
    x = np.tile(one, rings) + np.random.default_rng(1).normal(0, 0.003, RATE * 5 * rings)
    return ulaw(x)


def test_ringback_cadence_is_measured():
    x = np.concatenate([np.zeros(RATE // 2), ringback_ru(2)])
    segments = tone_segments(x, 425)
    assert len(segments) == 2
    for (start, end), expected in zip(segments, (0.5, 5.5)):
        assert abs(start - expected) <= 0.1 and abs(end - (expected + 1.0)) <= 0.1
    assert tone_fraction(x, 425, 0.5, 10.5) == pytest.approx(0.2, abs=0.02)
    assert has_tone(x, 425, 0.0, 2.0)
    assert not has_tone(x, 425, 2.0, 5.0)


@pytest.mark.parametrize("other", [
    lambda: tone(440, 2.0, 0.15) + tone(480, 2.0, 0.15),   # US ringback
    lambda: tone(400, 2.0),
    lambda: tone(450, 2.0),
    lambda: quiet(2.0, -20.0),                              # hiss
    lambda: tone(425, 2.0, 0.0005),                         # too faint to be a tone on the line
])
def test_other_sounds_are_not_the_425_hz_tone(other):
    assert not has_tone(ulaw(other()), 425)
    assert tone_segments(ulaw(other()), 425) == []


def test_speech_is_not_a_tone(tmp_path):
    from ivr.config import Settings
    from ivr.sounds.generate import generate_prompts

    (tmp_path / "prompts.yaml").write_text(
        'a: {ru: "Здравствуйте, вы позвонили в компанию Восход. Ожидайте ответа оператора."}\n',
        encoding="utf-8")
    generate_prompts(Settings(sounds_dir=str(tmp_path)))
    speech = pcm.read_audio(tmp_path / "generated/ru/a.wav")[0]
    assert tone_fraction(speech, 425) < 0.05
    assert not has_tone(speech, 425)
