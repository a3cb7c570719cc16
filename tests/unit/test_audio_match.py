"""The caller-side prompt matcher against recordings built the way the world Asterisk would hear
them: espeak prompts with random gaps, a G.711 round trip, gain changes, noise, lost packets."""
from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest

from ivr.config import Settings
from ivr.sounds import pcm
from ivr.sounds.generate import generate_prompts
from ivr.testing.audio import Match, PromptMatcher, find_prompts

PROMPTS = """\
greeting: {en: "Hello, you have reached Sunrise Bus Lines.", ru: "Здравствуйте, вы позвонили в компанию Восход."}
menu: {en: "For the timetable, press one. To buy a ticket, press two.", ru: "Чтобы узнать расписание, нажмите один."}
press1: {en: "Press one for sales.", ru: "Нажмите один."}
press2: {en: "Press two for support.", ru: "Нажмите два."}
invalid: {en: "Sorry, that is not a valid choice.", ru: "Неверный выбор."}
goodbye: {en: "Thank you for calling. Goodbye.", ru: "Спасибо за звонок. До свидания."}
closed: {en: "We are closed now. Please call again during office hours.", ru: "Сейчас мы не работаем."}
sales: {en: "Press one for sales. Our office is open on weekdays.", ru: "Нажмите один. Мы работаем по будням."}
"""
NAMES = ["greeting", "menu", "press1", "press2", "invalid", "goodbye", "closed", "sales"]
TOLERANCE_S = 0.05


@pytest.fixture(scope="module")
def prompts(tmp_path_factory) -> dict[str, dict[str, Path]]:
    root = tmp_path_factory.mktemp("sounds")
    (root / "prompts.yaml").write_text(PROMPTS, encoding="utf-8")
    generate_prompts(Settings(sounds_dir=str(root)))
    return {lang: {n: root / "generated" / lang / f"{n}.wav" for n in NAMES} for lang in ("en", "ru")}


def g711(x: np.ndarray, law: str) -> np.ndarray:
    ints = pcm.to_int16(x)
    out = pcm.ulaw_decode(pcm.ulaw_encode(ints)) if law == "ulaw" else pcm.alaw_decode(pcm.alaw_encode(ints))
    return out / 32768.0


def drop_or_insert_packet(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One 20 ms packet lost (samples missing) or late (20 ms of silence inserted)."""
    at = int(rng.integers(800, len(x) - 800))
    if rng.random() < 0.5:
        return np.concatenate([x[:at], x[at + 160:]])
    return np.concatenate([x[:at], np.zeros(160), x[at:]])


def build_call(files: dict[str, Path], order: list[str], rng: np.random.Generator, *,
               law: str = "ulaw", gain_db: float = 0.0, snr_db: float | None = None,
               packet_faults: bool = False, cut_last_at: float | None = None
               ) -> tuple[np.ndarray, list[tuple[str, float, float]]]:
    """A recording and its truth: (name, start_s, end_s) of each prompt as played."""
    parts, truth, t = [], [], 0.0
    for i, name in enumerate(order):
        gap = float(rng.uniform(0.3, 2.0))
        parts.append(np.zeros(int(gap * 8000)))
        t += gap
        x, _ = pcm.read_audio(files[name])
        if packet_faults and len(x) > 8000 * 1.2:
            x = drop_or_insert_packet(x, rng)
        if cut_last_at is not None and i == len(order) - 1:
            x = x[: int(len(x) * cut_last_at)]
        parts.append(x)
        truth.append((name, t, t + len(x) / 8000))
        t += len(x) / 8000
    if cut_last_at is None:
        parts.append(np.zeros(4000))
    rec = np.concatenate(parts) * 10 ** (gain_db / 20)
    if snr_db is not None:
        loud = rec[np.abs(rec) > 1e-3]
        rec = rec + rng.normal(0, np.sqrt(np.mean(loud**2) / 10 ** (snr_db / 10)), len(rec))
    return g711(rec, law), truth


def assert_found(matches: list[Match], truth: list[tuple[str, float, float]]) -> None:
    assert [m.name for m in matches] == [n for n, _, _ in truth], (matches, truth)
    for m, (name, start, end) in zip(matches, truth):
        assert abs(m.start_s - start) <= TOLERANCE_S, (m, start)
        assert abs(m.end_s - end) <= TOLERANCE_S, (m, end)
        assert not m.partial, m


@pytest.mark.parametrize("lang", ["en", "ru"])
@pytest.mark.parametrize("law,gain_db,snr_db", [
    ("ulaw", 0.0, None), ("alaw", -12.0, None), ("ulaw", 4.0, 25.0), ("alaw", -20.0, 20.0)])
def test_prompts_found_in_order_at_their_times(prompts, lang, law, gain_db, snr_db):
    rng = np.random.default_rng(zlib.crc32(f"{lang}{law}{gain_db}".encode()))
    order = ["greeting", "menu", "invalid", "menu", "press2", "goodbye"]
    rec, truth = build_call(prompts[lang], order, rng, law=law, gain_db=gain_db, snr_db=snr_db)
    matches = find_prompts(rec, prompts[lang])
    assert_found(matches, truth)
    # Through G.711 alone a prompt correlates almost perfectly.
    assert min(m.score for m in matches) >= (0.95 if snr_db is None else 0.75)


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_prompt_not_played_is_not_found(prompts, lang):
    rng = np.random.default_rng(7)
    rec, truth = build_call(prompts[lang], ["greeting", "press2", "goodbye"], rng, snr_db=25.0)
    matches = find_prompts(rec, prompts[lang])
    names = [m.name for m in matches]
    assert names == ["greeting", "press2", "goodbye"]
    # press1 and press2 share their first word, in the same voice: still told apart.
    assert "press1" not in names and "closed" not in names


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_similar_prompts_told_apart_by_score(prompts, lang):
    """Even with every threshold off, the wrong one of two look-alike prompts scores far lower."""
    rng = np.random.default_rng(3)
    rec, truth = build_call(prompts[lang], ["press1"], rng, law="alaw")
    loose = PromptMatcher({"press2": prompts[lang]["press2"]}, threshold=0.0, chunk_threshold=0.0,
                          min_partial_s=0.0)
    best_wrong = max((m.score for m in loose.find(rec) if not m.partial), default=0.0)
    right = find_prompts(rec, {"press1": prompts[lang]["press1"]})
    assert [m.name for m in right] == ["press1"]
    assert right[0].score >= 0.95
    assert best_wrong <= 0.7
    assert PromptMatcher({"press2": prompts[lang]["press2"]}).find(rec) == []


def test_unrelated_speech_scores_low(prompts):
    """Prompts that share no words never come near the threshold, in any language pairing."""
    rng = np.random.default_rng(11)
    rec, _ = build_call(prompts["ru"], ["greeting", "goodbye", "closed"], rng, snr_db=30.0)
    loose = PromptMatcher({n: prompts["en"][n] for n in NAMES}, threshold=0.0, chunk_threshold=0.0,
                          min_partial_s=0.0)
    assert max(m.score for m in loose.find(rec)) < 0.5
    assert find_prompts(rec, prompts["en"]) == []


@pytest.mark.parametrize("seed", range(6))
def test_lost_and_late_packets_inside_prompts(prompts, seed):
    rng = np.random.default_rng(100 + seed)
    lang = "en" if seed % 2 else "ru"
    order = list(rng.permutation(["greeting", "menu", "goodbye", "closed"]))
    rec, truth = build_call(prompts[lang], order, rng, law="ulaw", gain_db=-6.0, snr_db=30.0,
                            packet_faults=True)
    assert_found(find_prompts(rec, prompts[lang]), truth)


def test_hang_up_halfway_through_a_prompt_is_a_partial_match(prompts):
    rng = np.random.default_rng(5)
    rec, truth = build_call(prompts["en"], ["greeting", "menu"], rng, cut_last_at=0.5)
    matches = find_prompts(rec, prompts["en"])
    assert [m.name for m in matches] == ["greeting", "menu"]
    greeting, menu = matches
    assert not greeting.partial and greeting.coverage == 1.0
    assert menu.partial
    assert 0.35 <= menu.coverage <= 0.55
    assert abs(menu.start_s - truth[1][1]) <= TOLERANCE_S
    assert menu.end_s <= truth[1][2] + 0.2


def test_prompt_interrupted_by_the_next_one_is_partial(prompts):
    """Barge-in: a digit stops the menu after 60 %, and the next prompt starts right away."""
    files = prompts["en"]
    menu, _ = pcm.read_audio(files["menu"])
    invalid, _ = pcm.read_audio(files["invalid"])
    cut = int(len(menu) * 0.6)
    rec = g711(np.concatenate([np.zeros(4000), menu[:cut], np.zeros(400), invalid, np.zeros(4000)]), "ulaw")
    matches = find_prompts(rec, files)
    assert [(m.name, m.partial) for m in matches] == [("menu", True), ("invalid", False)]
    assert 0.45 <= matches[0].coverage <= 0.65
    assert abs(matches[1].start_s - (0.5 + cut / 8000 + 0.05)) <= TOLERANCE_S


def test_a_fragment_shorter_than_min_partial_is_not_reported(prompts):
    rng = np.random.default_rng(9)
    rec, _ = build_call(prompts["en"], ["closed"], rng, cut_last_at=0.12)
    assert find_prompts(rec, prompts["en"]) == []
    assert [m.name for m in find_prompts(rec, prompts["en"], min_partial_s=0.3)] == ["closed"]


def test_whole_prompt_wins_over_partial_look_alike(prompts):
    """'Press one for sales' contains 'Press' of press2; only press1 is reported."""
    rng = np.random.default_rng(21)
    rec, truth = build_call(prompts["en"], ["press1", "press2", "press1"], rng)
    assert_found(find_prompts(rec, prompts["en"]), truth)


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_prompt_contained_in_a_longer_one(prompts, lang):
    """'sales' begins with the whole of 'press1': the longer prompt explains the recording when it
    played, and a 'sales' that stops where press1 ends is not claimed over press1."""
    rng = np.random.default_rng(31)
    rec, truth = build_call(prompts[lang], ["sales", "press1", "sales"], rng, snr_db=30.0)
    assert_found(find_prompts(rec, prompts[lang]), truth)


def test_sentence_inside_a_longer_prompt_is_not_the_short_prompt(prompts):
    """The Russian menu says "нажмите один" inside its sentence (other intonation than press1)."""
    rng = np.random.default_rng(8)
    rec, truth = build_call(prompts["ru"], ["menu"], rng)
    assert_found(find_prompts(rec, prompts["ru"]), truth)
    without_menu = {n: p for n, p in prompts["ru"].items() if n != "menu"}
    assert find_prompts(rec, without_menu) == []


def test_recording_files_wav_and_wideband(prompts, tmp_path):
    """The harness passes file paths; a 16 kHz recording is brought to 8 kHz first."""
    rng = np.random.default_rng(4)
    rec, truth = build_call(prompts["ru"], ["closed", "invalid"], rng, law="alaw")
    pcm.write_wav(tmp_path / "call.wav", rec, 8000)
    pcm.write_wav(tmp_path / "call16.wav", pcm.resample(rec, 8000, 16000), 16000)
    (tmp_path / "call.ulaw").write_bytes(pcm.ulaw_encode(pcm.to_int16(rec)).tobytes())
    matcher = PromptMatcher({n: str(p) for n, p in prompts["ru"].items()})
    for name in ("call.wav", "call16.wav", "call.ulaw"):
        assert_found(matcher.find(tmp_path / name), truth)


def test_silent_and_empty_recordings_match_nothing(prompts):
    matcher = PromptMatcher(prompts["en"])
    assert matcher.find(np.zeros(8000 * 5)) == []
    assert matcher.find(np.zeros(10)) == []
    noise = np.random.default_rng(1).normal(0, 0.05, 8000 * 5)
    assert matcher.find(noise) == []
