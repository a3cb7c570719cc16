"""Build-time prompts: sounds/prompts.yaml spoken by espeak-ng into sounds/generated/<lang>/.

prompts.yaml maps a prompt name to its text per language:

    greeting: {ru: "Здравствуйте!", en: "Hello!"}

Each (name, language) becomes <name>.wav (8 kHz) and <name>.wav16 (16 kHz), trimmed and normalised
like an imported recording. A manifest keeps the hash of text, voice and pipeline per file, so a
re-run only speaks what changed and removes what left the YAML.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import wave
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from ivr.config import Settings
from ivr.errors import ConfigError, IvrError
from ivr.sounds import convert, pcm

# espeak-ng voice per language; a language not listed uses its own code as the voice.
VOICES = {"ru": "ru", "en": "en-us"}
SPEED_WPM = 150            # espeak's default 175 is hurried on a phone line
# Bump when the processing changes, so every prompt is spoken again.
PIPELINE_VERSION = 1
MANIFEST = "manifest.json"


class PromptsFileError(ConfigError):
    error_id = "invalid-prompts-file"


class SpeechError(IvrError):
    error_id = "speech-failed"


@dataclass(frozen=True)
class PromptText:
    name: str
    language: str
    text: str

    @property
    def key(self) -> str:
        return f"{self.language}/{self.name}"


@dataclass(frozen=True)
class GenerateResult:
    generated: tuple[str, ...]   # "<lang>/<name>" spoken this run
    unchanged: tuple[str, ...]   # skipped: same text, voice and pipeline as last time
    removed: tuple[str, ...]     # no longer in the YAML; their files were deleted


def load_prompt_texts(path: Path) -> list[PromptText]:
    """Parse prompts.yaml; problems are reported as FILE:LINE:COL."""
    try:
        data = YAML().load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise PromptsFileError(f"{path}: cannot read ({e.strerror})") from None
    except YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise PromptsFileError(f"{where}: not valid YAML ({getattr(e, 'problem', e)})") from None
    if data is None:
        return []
    if not isinstance(data, dict):
        raise PromptsFileError(f"{path}:1:1: expected a mapping of prompt name to {{language: text}}")
    problems: list[str] = []
    texts: list[PromptText] = []
    for name, langs in data.items():
        line, col = data.lc.key(name)
        where = f"{path}:{line + 1}:{col + 1}"
        if not isinstance(name, str) or not convert.NAME_RE.match(name):
            problems.append(f"{where}: prompt name {name!r}: use letters, digits, '-' and '_' only")
            continue
        if not isinstance(langs, dict) or not langs:
            problems.append(f"{where}: prompt {name}: expected {{ru: \"text\", en: \"text\"}}")
            continue
        for lang, text in langs.items():
            lline, lcol = langs.lc.key(lang)
            lwhere = f"{path}:{lline + 1}:{lcol + 1}"
            if not isinstance(lang, str) or not convert.LANG_RE.match(lang):
                problems.append(f"{lwhere}: prompt {name}: {lang!r} is not a language code like ru or en")
            elif not isinstance(text, str) or not text.strip():
                problems.append(f"{lwhere}: prompt {name}: the {lang} text is empty")
            else:
                texts.append(PromptText(name, lang, " ".join(text.split())))
    if problems:
        raise PromptsFileError("\n".join(problems))
    return texts


def prompt_texts(settings: Settings) -> dict[str, str]:
    """The words of the generated prompts ("ru/welcome" -> text), to show what a caller hears;
    empty when the file is missing or broken (the words are only shown, never needed)."""
    path = settings.path(settings.sounds_dir) / "prompts.yaml"
    try:
        return {p.key: p.text for p in load_prompt_texts(path)} if path.exists() else {}
    except ConfigError:
        return {}


def espeak_version() -> str:
    if shutil.which("espeak-ng") is None:
        raise SpeechError("espeak-ng is not installed (apt-get install espeak-ng)")
    out = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, check=False)
    return out.stdout.strip()


def prompt_hash(prompt: PromptText, engine: str) -> str:
    voice = VOICES.get(prompt.language, prompt.language)
    blob = json.dumps([PIPELINE_VERSION, engine, voice, SPEED_WPM, prompt.text], ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def speak(text: str, language: str) -> tuple[np.ndarray, int]:
    """espeak-ng's samples for one text (read from stdin, so no text is mistaken for an option)."""
    voice = VOICES.get(language, language)
    proc = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(SPEED_WPM), "--stdout"],
        input=text.encode("utf-8"), capture_output=True, check=False)
    if proc.returncode != 0 or len(proc.stdout) <= 44:
        err = proc.stderr.decode(errors="replace").strip() or "no audio"
        raise SpeechError(f"espeak-ng -v {voice} failed: {err}")
    # espeak streams a header with placeholder sizes; wave reads whatever data follows.
    with wave.open(io.BytesIO(proc.stdout), "rb") as w:
        rate, width, channels = w.getframerate(), w.getsampwidth(), w.getnchannels()
        data = w.readframes(w.getnframes())
    return pcm.pcm_bytes_to_float(data, width, channels), rate


def _render(prompt: PromptText, out_dir: Path) -> None:
    samples, rate = speak(prompt.text, prompt.language)
    prepared, _gain = convert.prepare(samples, rate, source=f"prompt {prompt.key}")
    convert.write_prompt(prepared, rate, out_dir / prompt.language / prompt.name)


def generate_prompts(settings: Settings, *, prompts_file: Path | None = None,
                     out_dir: Path | None = None, force: bool = False) -> GenerateResult:
    sounds = settings.path(settings.sounds_dir)
    prompts_file = prompts_file or sounds / "prompts.yaml"
    out_dir = out_dir or sounds / "generated"
    prompts = load_prompt_texts(prompts_file)
    engine = espeak_version()
    manifest_path = out_dir / MANIFEST
    try:
        old: dict[str, str] = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        old = {}
    new = {p.key: prompt_hash(p, engine) for p in prompts}
    todo = [p for p in prompts
            if force or old.get(p.key) != new[p.key] or not all(
                (out_dir / p.language / f"{p.name}{ext}").exists() for ext in convert.EXTENSIONS)]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        list(pool.map(lambda p: _render(p, out_dir), todo))
    removed = sorted(set(old) - set(new))
    for key in removed:
        for ext in convert.EXTENSIONS:
            (out_dir / f"{key}{ext}").unlink(missing_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = manifest_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(new, indent=1, sort_keys=True, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, manifest_path)
    done = {p.key for p in todo}
    return GenerateResult(
        generated=tuple(sorted(done)),
        unchanged=tuple(sorted(k for k in new if k not in done)),
        removed=tuple(removed))
