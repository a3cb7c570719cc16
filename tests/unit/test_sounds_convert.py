"""`ivr sounds import`: any format to 8 kHz + 16 kHz WAV, trimmed, normalised; bad files refused."""
from __future__ import annotations

import argparse
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from ivr.cli import sounds as sounds_cli
from ivr.config import Settings
from ivr.errors import InvalidInput
from ivr.sounds import pcm
from ivr.sounds.convert import SoundFileError, import_sound


def speech_like(rate: int, seconds: float, amplitude: float) -> np.ndarray:
    """Syllable-like bursts of a few harmonics: has pauses, a crest factor and a spectrum like speech."""
    t = np.arange(int(rate * seconds)) / rate
    voice = sum(np.sin(2 * np.pi * f * t) / k for k, f in enumerate((180, 360, 540, 900, 1500), 1))
    envelope = np.clip(np.sin(2 * np.pi * 3 * t), 0, None) ** 2
    return amplitude * voice * envelope / 2.3


def write_stereo_wav(path: Path, mono: np.ndarray, rate: int) -> None:
    frames = np.repeat(pcm.to_int16(mono)[:, None], 2, axis=1)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames.tobytes())


@pytest.fixture
def recording(tmp_path) -> Path:
    """44.1 kHz stereo, quiet (-35 dBFS-ish), with 1.5 s of silence before and 2 s after."""
    rate = 44100
    sound = speech_like(rate, 2.0, 0.03)
    x = np.concatenate([np.zeros(int(rate * 1.5)), sound, np.zeros(rate * 2)])
    path = tmp_path / "in.wav"
    write_stereo_wav(path, x, rate)
    return path


def read(path: Path) -> tuple[np.ndarray, tuple[int, int, int]]:
    with wave.open(str(path), "rb") as w:
        p = (w.getframerate(), w.getnchannels(), w.getsampwidth())
    return pcm.read_audio(path)[0], p


def test_import_writes_both_rates_trimmed_and_normalised(tmp_path, recording):
    settings = Settings(sounds_dir=str(tmp_path / "sounds"))
    result = import_sound(settings, recording, "welcome", "ru")
    wav, wav16 = tmp_path / "sounds/ru/welcome.wav", tmp_path / "sounds/ru/welcome.wav16"
    assert result.paths == (wav, wav16)
    x8, p8 = read(wav)
    x16, p16 = read(wav16)
    assert p8 == (8000, 1, 2) and p16 == (16000, 1, 2)
    # 2 s of sound, silence trimmed to at most the 50 ms pads (and the envelope's quiet ends)
    assert 1.7 <= len(x8) / 8000 <= 2.15
    assert abs(len(x16) / 16000 - len(x8) / 8000) < 0.01
    level, peak = pcm.active_level_dbfs(x8, 8000), pcm.peak_dbfs(x8)
    assert peak <= pcm.PEAK_CEILING_DBFS + 0.3
    assert abs(level - pcm.TARGET_ACTIVE_DBFS) < 1.0 or abs(peak - pcm.PEAK_CEILING_DBFS) < 0.3
    assert result.gain_db > 15  # a quiet recording was brought up
    assert abs(result.duration_s - len(x8) / 8000) < 0.01


@pytest.mark.parametrize("fmt,args", [("mp3", []), ("ogg", ["-c:a", "libvorbis"]), ("m4a", ["-c:a", "aac"])])
def test_compressed_formats_are_read_through_ffmpeg(tmp_path, recording, fmt, args):
    src = tmp_path / f"in.{fmt}"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(recording), *args, str(src)], check=True)
    settings = Settings(sounds_dir=str(tmp_path / "sounds"))
    import_sound(settings, src, "menu", "en")
    x8, p8 = read(tmp_path / "sounds/en/menu.wav")
    assert p8 == (8000, 1, 2)
    assert 1.7 <= len(x8) / 8000 <= 2.3


def test_reimport_replaces_the_recording(tmp_path, recording):
    settings = Settings(sounds_dir=str(tmp_path / "sounds"))
    import_sound(settings, recording, "p", "ru")
    first = (tmp_path / "sounds/ru/p.wav").read_bytes()
    short = tmp_path / "short.wav"
    write_stereo_wav(short, speech_like(8000, 0.7, 0.5), 8000)
    import_sound(settings, short, "p", "ru")
    assert (tmp_path / "sounds/ru/p.wav").read_bytes() != first
    # written atomically: no temporary files are left behind
    assert sorted(p.name for p in (tmp_path / "sounds/ru").iterdir()) == ["p.wav", "p.wav16"]


def _silent(path: Path) -> None:
    write_stereo_wav(path, np.zeros(16000), 8000)


def _noise_floor(path: Path) -> None:
    write_stereo_wav(path, np.random.default_rng(0).normal(0, 1e-4, 16000), 8000)


def _truncated(path: Path) -> None:
    write_stereo_wav(path, speech_like(8000, 1.0, 0.3), 8000)
    path.write_bytes(path.read_bytes()[:30])


@pytest.mark.parametrize("make,message", [
    (lambda p: p.write_bytes(b""), "the file is empty"),
    (lambda p: p.write_bytes(b"this is not audio at all" * 40), "not a readable audio file"),
    (_truncated, "not a readable audio file"),
    (_silent, "contains only silence"),
    (_noise_floor, "contains only silence"),
    (lambda p: write_stereo_wav(p, np.zeros(0), 8000), "contains no audio"),
])
def test_broken_empty_or_silent_files_are_refused_in_one_line(tmp_path, make, message):
    bad = tmp_path / "bad.wav"
    make(bad)
    settings = Settings(sounds_dir=str(tmp_path / "sounds"))
    with pytest.raises(SoundFileError) as e:
        import_sound(settings, bad, "x", "ru")
    assert isinstance(e.value, InvalidInput)
    assert e.value.message.startswith(f"{bad}: ")
    assert message in e.value.message and "\n" not in e.value.message
    assert not (tmp_path / "sounds/ru/x.wav").exists()


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(SoundFileError, match="no such file"):
        import_sound(Settings(sounds_dir=str(tmp_path)), tmp_path / "nope.mp3", "x")


@pytest.mark.parametrize("name", ["", "with space", "../escape", "a/b", "имя", "x.wav"])
def test_bad_names_are_refused(tmp_path, recording, name):
    with pytest.raises(InvalidInput, match="letters, digits"):
        import_sound(Settings(sounds_dir=str(tmp_path)), recording, name)


@pytest.mark.parametrize("lang", ["", "../x", "RU", "r"])
def test_bad_languages_are_refused(tmp_path, recording, lang):
    with pytest.raises(InvalidInput, match="language"):
        import_sound(Settings(sounds_dir=str(tmp_path)), recording, "ok", lang)


def test_cli_import_and_generate(tmp_path, recording, capsys):
    parser = argparse.ArgumentParser()
    sounds_cli.register(parser.add_subparsers(dest="command"))
    settings = Settings(sounds_dir=str(tmp_path / "sounds"))
    args = parser.parse_args(["sounds", "import", str(recording), "--name", "hello", "--lang", "en"])
    assert args.handler(args, settings) == 0
    assert "en/hello:" in capsys.readouterr().out
    assert (tmp_path / "sounds/en/hello.wav16").exists()

    (tmp_path / "sounds/prompts.yaml").write_text('bye: {en: "Goodbye."}\n', encoding="utf-8")
    args = parser.parse_args(["sounds", "generate"])
    assert args.handler(args, settings) == 0
    assert "1 generated" in capsys.readouterr().out
    assert args.handler(args, settings) == 0
    assert "0 generated, 1 unchanged" in capsys.readouterr().out
