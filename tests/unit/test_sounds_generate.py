"""Build-time prompts from prompts.yaml with espeak-ng: formats, idempotence, errors."""
from __future__ import annotations

import json
import wave
from pathlib import Path

import pytest

from ivr.config import Settings
from ivr.sounds import pcm
from ivr.sounds.generate import PromptsFileError, generate_prompts, load_prompt_texts


def write_yaml(root: Path, text: str) -> Settings:
    root.mkdir(parents=True, exist_ok=True)
    (root / "prompts.yaml").write_text(text, encoding="utf-8")
    return Settings(sounds_dir=str(root))


def params(path: Path) -> tuple[int, int, int]:
    with wave.open(str(path), "rb") as w:
        return w.getframerate(), w.getnchannels(), w.getsampwidth()


def test_generates_narrow_and_wideband_wav_per_language(tmp_path):
    settings = write_yaml(tmp_path, 'hello: {ru: "Здравствуйте!", en: "Hello there!"}\n')
    result = generate_prompts(settings)
    assert result.generated == ("en/hello", "ru/hello")
    for lang in ("en", "ru"):
        base = tmp_path / "generated" / lang / "hello"
        assert params(base.with_suffix(".wav")) == (8000, 1, 2)
        assert params(Path(f"{base}.wav16")) == (16000, 1, 2)
        x8, _ = pcm.read_audio(base.with_suffix(".wav"))
        x16, _ = pcm.read_audio(Path(f"{base}.wav16"))
        assert 0.3 < len(x8) / 8000 < 3.0
        assert abs(len(x16) / 16000 - len(x8) / 8000) < 0.01
        # normalised like an imported recording: peaks at the ceiling or speech at the target
        level, peak = pcm.active_level_dbfs(x8, 8000), pcm.peak_dbfs(x8)
        assert peak <= pcm.PEAK_CEILING_DBFS + 0.5
        assert abs(level - pcm.TARGET_ACTIVE_DBFS) < 1.0 or abs(peak - pcm.PEAK_CEILING_DBFS) < 0.5


def test_rerun_skips_unchanged_and_redoes_changed_and_removes_dropped(tmp_path):
    settings = write_yaml(tmp_path, 'a: {en: "First prompt."}\nb: {en: "Second prompt."}\n')
    generate_prompts(settings)
    a = tmp_path / "generated" / "en" / "a.wav"
    b = tmp_path / "generated" / "en" / "b.wav"
    a_stamp, b_bytes = a.stat().st_mtime_ns, b.read_bytes()

    again = generate_prompts(settings)
    assert again.generated == () and again.unchanged == ("en/a", "en/b")
    assert a.stat().st_mtime_ns == a_stamp

    write_yaml(tmp_path, 'a: {en: "First prompt."}\nb: {en: "A different second prompt."}\n')
    changed = generate_prompts(settings)
    assert changed.generated == ("en/b",) and changed.unchanged == ("en/a",)
    assert b.read_bytes() != b_bytes and a.stat().st_mtime_ns == a_stamp

    write_yaml(tmp_path, 'b: {en: "A different second prompt."}\n')
    dropped = generate_prompts(settings)
    assert dropped.removed == ("en/a",)
    assert not a.exists() and not Path(f"{a}16").exists()
    manifest = json.loads((tmp_path / "generated" / "manifest.json").read_text())
    assert set(manifest) == {"en/b"}


def test_a_deleted_output_is_regenerated_and_force_redoes_all(tmp_path):
    settings = write_yaml(tmp_path, 'a: {en: "One."}\nb: {en: "Two."}\n')
    generate_prompts(settings)
    Path(f"{tmp_path}/generated/en/a.wav16").unlink()
    assert generate_prompts(settings).generated == ("en/a",)
    assert generate_prompts(settings, force=True).generated == ("en/a", "en/b")


def test_text_that_looks_like_an_option_is_spoken_not_parsed(tmp_path):
    settings = write_yaml(tmp_path, 'dash: {en: "--help me please"}\n')
    generate_prompts(settings)
    x, _ = pcm.read_audio(tmp_path / "generated" / "en" / "dash.wav")
    assert len(x) / 8000 > 0.5


@pytest.mark.parametrize("text,where,message", [
    ('good: {en: "x"}\nbad name: {en: "y"}\n', ":2:1:", "letters, digits"),
    ('p: {en: ""}\n', ":1:5:", "text is empty"),
    ('p: "just text"\n', ":1:1:", "expected {ru"),
    ('p: {english: "Hi"}\n', ":1:5:", "not a language code"),
    ('p: {en: "a"\n', ":", "not valid YAML"),
    ('- a\n- b\n', ":1:1:", "expected a mapping"),
])
def test_bad_prompts_file_is_reported_with_position(tmp_path, text, where, message):
    (tmp_path / "prompts.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(PromptsFileError) as e:
        load_prompt_texts(tmp_path / "prompts.yaml")
    assert f"{tmp_path / 'prompts.yaml'}{where}" in e.value.message
    assert message in e.value.message


def test_missing_prompts_file_is_a_config_error(tmp_path):
    with pytest.raises(PromptsFileError, match="cannot read"):
        generate_prompts(Settings(sounds_dir=str(tmp_path)))


def test_whitespace_in_text_is_normalised(tmp_path):
    (tmp_path / "prompts.yaml").write_text('p: {ru: "  Два\n   слова "}\n', encoding="utf-8")
    [p] = load_prompt_texts(tmp_path / "prompts.yaml")
    assert (p.name, p.language, p.text) == ("p", "ru", "Два слова")
