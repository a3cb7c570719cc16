"""PCM helpers: G.711 against the reference tables, resampling, raw Asterisk formats."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from ivr.sounds import pcm

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    audioop = pytest.importorskip("audioop")  # the C reference G.711, in Python up to 3.12

ALL_SAMPLES = np.arange(-32768, 32768, dtype=np.int16)
ALL_CODES = np.arange(256, dtype=np.uint8)


def test_ulaw_matches_reference_for_every_sample_and_code():
    ref = np.frombuffer(audioop.lin2ulaw(ALL_SAMPLES.tobytes(), 2), dtype=np.uint8)
    assert np.array_equal(pcm.ulaw_encode(ALL_SAMPLES), ref)
    ref = np.frombuffer(audioop.ulaw2lin(ALL_CODES.tobytes(), 2), dtype=np.int16)
    assert np.array_equal(pcm.ulaw_decode(ALL_CODES), ref)


def test_alaw_matches_reference_for_every_sample_and_code():
    ref = np.frombuffer(audioop.lin2alaw(ALL_SAMPLES.tobytes(), 2), dtype=np.uint8)
    assert np.array_equal(pcm.alaw_encode(ALL_SAMPLES), ref)
    ref = np.frombuffer(audioop.alaw2lin(ALL_CODES.tobytes(), 2), dtype=np.int16)
    assert np.array_equal(pcm.alaw_decode(ALL_CODES), ref)


@pytest.mark.parametrize("src,dst", [(22050, 8000), (44100, 16000), (8000, 16000), (48000, 8000)])
def test_resample_keeps_in_band_tones_and_removes_out_of_band(src, dst):
    t = np.arange(src) / src
    inband, outband = 1000.0, 0.45 * src  # above dst's Nyquist when downsampling
    x = 0.4 * np.sin(2 * np.pi * inband * t) + (0.4 * np.sin(2 * np.pi * outband * t) if src > dst else 0)
    y = pcm.resample(x, src, dst)
    assert len(y) == dst
    core = y[dst // 10: -dst // 10]
    spectrum = np.abs(np.fft.rfft(core * np.hanning(len(core))))
    freqs = np.fft.rfftfreq(len(core), 1 / dst)
    assert abs(freqs[np.argmax(spectrum)] - inband) < 5
    # amplitude kept (RMS of a 0.4 sine), nothing else left above -50 dB of the tone
    assert abs(np.sqrt(2) * np.std(core) - 0.4) < 0.01
    assert np.max(spectrum[np.abs(freqs - inband) > 50]) < np.max(spectrum) * 10 ** (-50 / 20)


def test_raw_asterisk_formats_are_read(tmp_path):
    x = (0.3 * np.sin(2 * np.pi * 440 * np.arange(800) / 8000))
    ints = pcm.to_int16(x)
    (tmp_path / "a.sln").write_bytes(ints.tobytes())
    (tmp_path / "a.sln16").write_bytes(ints.tobytes())
    (tmp_path / "a.ulaw").write_bytes(pcm.ulaw_encode(ints).tobytes())
    (tmp_path / "a.alaw").write_bytes(pcm.alaw_encode(ints).tobytes())
    assert pcm.read_audio(tmp_path / "a.sln")[1] == 8000
    assert pcm.read_audio(tmp_path / "a.sln16")[1] == 16000
    for name in ("a.sln", "a.ulaw", "a.alaw"):
        y, rate = pcm.read_audio(tmp_path / name)
        assert rate == 8000 and np.max(np.abs(y - x)) < 0.01  # G.711 error at this level


def test_write_wav_round_trip_and_clipping(tmp_path):
    x = np.array([0.0, 0.5, -0.5, 1.5, -1.5])
    pcm.write_wav(tmp_path / "x.wav", x, 8000)
    y, rate = pcm.read_audio(tmp_path / "x.wav")
    assert rate == 8000
    assert np.allclose(y, [0.0, 0.5, -0.5, 32767 / 32768, -1.0])
    assert (tmp_path / "x.wav").stat().st_size == 44 + 2 * len(x)  # canonical header


def test_reading_a_non_wav_raises_format_error(tmp_path):
    (tmp_path / "x.wav").write_bytes(b"garbage" * 10)
    with pytest.raises(pcm.PcmFormatError, match="not a PCM WAV"):
        pcm.read_audio(tmp_path / "x.wav")
