"""The practice page in headless Chromium (Debian's `chromium`, driven by Playwright's Python package).

Needs `apt-get install -y chromium` and `pip install playwright` (no `playwright install`: we use the
system browser). Skips with the reason when either is missing. The screenshot goes to
$LMM_APA_TEST_ARTIFACTS if set, else the test's tmp folder; its path is printed (pytest -s shows it).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from lmm_apa.data.audio import load_audio
from lmm_apa.interfaces.web import create_app
from lmm_apa.interfaces.web.server import serve_in_background
from tests.interfaces.web.scorer_double import EnergyScorer, ScriptTranscriber

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WORD_CLASSES = ("score-good", "score-mid", "score-bad")


@pytest.fixture(scope="module")
def sync_playwright():
    api = pytest.importorskip(
        "playwright.sync_api", reason="playwright not installed: pip install playwright"
    )
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install -y chromium")
    with api.sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def bear_wav(bear_flac: Path, tmp_path_factory) -> Path:
    """The corpus recording as WAV: what Chromium's fake microphone plays."""
    path = tmp_path_factory.mktemp("mic") / "bear.wav"
    sf.write(path, load_audio(bear_flac), 16000, subtype="PCM_16")
    return path


@pytest.fixture(scope="module")
def browser(sync_playwright, bear_wav: Path):
    b = sync_playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            *ARGS,
            # A fake microphone that plays the corpus recording, and no permission prompt.
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={bear_wav}",
        ],
    )
    yield b
    b.close()


@pytest.fixture(scope="module")
def served():
    scorer = EnergyScorer()
    app = create_app(lambda: scorer, model_name="energy-double", transcriber=ScriptTranscriber())
    with serve_in_background(app) as url:
        yield url, scorer


@pytest.fixture
def page(browser, served):
    context = browser.new_context()
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(served[0] + "/")
    yield pg
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def _artifact(tmp_path: Path, name: str) -> Path:
    out = Path(os.environ.get("LMM_APA_TEST_ARTIFACTS", tmp_path))
    out.mkdir(parents=True, exist_ok=True)
    return out / name


def _check_result(page) -> list[str]:
    page.wait_for_selector("#result:not([hidden]) li.word", timeout=20_000)
    words = page.locator("li.word")
    assert words.count() == 4
    texts = [words.nth(i).locator(".word-text").inner_text() for i in range(4)]
    classes = [words.nth(i).get_attribute("class") for i in range(4)]
    for cls, i in zip(classes, range(4), strict=True):
        score = float(words.nth(i).get_attribute("data-score"))
        expected = "score-bad" if score < 5 else "score-mid" if score < 8 else "score-good"
        assert expected in cls.split(), (score, cls)
    # Phones under each word; the weak ones (< 1.5 of 2, or heard as another sound) marked.
    assert page.locator("li.word .phone").count() == 10  # W IY0 | K AO0 L | IH0 T | B EH0 R
    phones = page.locator("li.word .phone")
    for i in range(phones.count()):
        acc = float(phones.nth(i).get_attribute("data-accuracy"))
        heard = phones.nth(i).get_attribute("data-heard")
        assert ("weak" in phones.nth(i).get_attribute("class").split()) == (acc < 1.5 or bool(heard))
    assert page.locator("#sentence-scores [role=meter]").count() == 5
    _check_alignment(page)
    return texts


def _check_alignment(page) -> None:
    """The double's aligner findings: IT skipped, BEAR mispronounced, extra speech after WE."""
    it = page.locator("li.word[data-index='2']")
    assert "omitted" in it.get_attribute("class").split() and it.get_attribute("data-error") == "omission"
    assert it.locator(".error-label").inner_text().lower() == "skipped"
    assert "line-through" in it.locator(".word-text").evaluate("e => getComputedStyle(e).textDecorationLine")
    assert it.locator("button.play").count() == 0 and it.get_attribute("data-start") is None
    bear = page.locator("li.word[data-index='3']")
    assert "mispronounced" in bear.get_attribute("class").split()
    heard = bear.locator(".phone.heard")
    assert heard.count() == 1
    symbol = heard.get_attribute("data-heard")
    assert symbol and heard.locator(".heard-as").inner_text() == f"→{symbol}"
    # Every word but the skipped one can be played; the extra speech sits after the first word.
    assert page.locator("li.word button.play").count() == 3
    assert page.locator("#words > li").nth(1).get_attribute("class").split() == ["extra", "playable"]


def test_upload_a_recording_and_see_coloured_words(page, served, bear_flac, tmp_path):
    url, scorer = served
    page.get_by_role("button", name="WE CALL IT BEAR").click()
    assert page.locator("#text").input_value() == "WE CALL IT BEAR"
    page.set_input_files("#file", str(bear_flac))
    page.wait_for_selector("#submit:not([disabled])")
    page.get_by_role("button", name="Score my reading").click()
    assert _check_result(page) == ["WE", "CALL", "IT", "BEAR"]
    # The page turned the FLAC into 16 kHz WAV itself; the server saw the whole recording.
    info = sf.info(bear_flac)
    assert scorer.last_samples == pytest.approx(info.frames, abs=16)
    assert page.locator("#hints li").count() >= 1
    shot = _artifact(tmp_path, "practice_page_upload.png")
    page.screenshot(path=str(shot), full_page=True)
    print(f"\nscreenshot: {shot}")
    assert shot.stat().st_size > 10_000


def _player(page) -> dict:
    return page.locator("#player").evaluate("a => ({t: a.currentTime, paused: a.paused, src: a.src})")


def test_click_a_word_to_hear_its_own_segment(page, bear_flac):
    page.fill("#text", "WE CALL IT BEAR")
    page.set_input_files("#file", str(bear_flac))
    page.wait_for_selector("#submit:not([disabled])")
    page.locator("#submit").click()
    _check_result(page)
    assert _player(page)["src"].startswith("blob:")  # the recording just sent
    call = page.locator("li.word[data-index='1']")
    start, end = float(call.get_attribute("data-start")), float(call.get_attribute("data-end"))
    assert 0 < start < end
    # Clicking the word plays from its start...
    call.locator(".word-text").click()
    page.wait_for_selector("li.word[data-index='1'].playing", timeout=5_000)
    state = _player(page)
    # (on a loaded machine the 0.6 s segment may be over before the state is read: then it stopped at its end)
    playing_or_done = not state["paused"] or state["t"] == pytest.approx(end, abs=0.15)
    assert start - 0.01 <= state["t"] <= end + 0.05 and playing_or_done, (state, start, end)
    # ...and stops at its end.
    page.wait_for_selector("li.word.playing", state="detached", timeout=10_000)
    state = _player(page)
    assert state["paused"] and state["t"] == pytest.approx(end, abs=0.15), (state, end)
    # The skipped word has no segment: clicking it plays nothing.
    page.locator("li.word[data-index='2']").click()
    page.wait_for_timeout(300)
    assert _player(page) == state
    assert page.locator(".playing").count() == 0
    # The play button (keyboard users' way in) plays the last word, BEAR.
    bear = page.locator("li.word[data-index='3']")
    bear.locator("button.play").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("li.word[data-index='3'].playing", timeout=5_000)
    assert _player(page)["t"] >= float(bear.get_attribute("data-start")) - 0.01


def test_record_from_the_microphone(page, served, tmp_path):
    url, scorer = served
    page.fill("#text", "we call it bear")
    page.keyboard.press("Tab")
    record = page.locator("#record")
    record.click()
    page.wait_for_selector("#record[aria-pressed=true]", timeout=10_000)
    page.wait_for_timeout(1500)
    record.click()
    page.wait_for_selector("#submit:not([disabled])", timeout=10_000)
    page.locator("#submit").click()
    assert _check_result(page) == ["WE", "CALL", "IT", "BEAR"]
    # About 1.5 s of the fake microphone at 16 kHz reached the scorer.
    assert 0.8 * 16000 < scorer.last_samples < 4 * 16000
    shot = _artifact(tmp_path, "practice_page_record.png")
    page.screenshot(path=str(shot), full_page=True)
    print(f"\nscreenshot: {shot}")


def test_a_bad_file_shows_the_servers_message(page, tmp_path):
    bad = tmp_path / "notes.wav"
    bad.write_bytes(b"not audio at all" * 64)
    page.fill("#text", "WE CALL IT BEAR")
    page.set_input_files("#file", str(bad))
    page.wait_for_selector("#submit:not([disabled])")
    page.locator("#submit").click()
    status = page.locator("#status.error")
    status.wait_for(timeout=10_000)
    assert "cannot read audio from notes.wav" in status.inner_text()
    assert page.locator("#result").is_hidden()


def test_unknown_word_is_reported(page, bear_flac):
    page.fill("#text", "WE CALL IT MP3")
    page.set_input_files("#file", str(bear_flac))
    page.wait_for_selector("#submit:not([disabled])")
    page.locator("#submit").click()
    page.locator("#status.error").wait_for(timeout=10_000)
    assert "MP3" in page.locator("#status").inner_text()


def test_silence_is_refused(page, tmp_path):
    quiet = tmp_path / "quiet.wav"
    sf.write(quiet, np.zeros(16000, dtype=np.float32), 16000)
    page.fill("#text", "WE CALL IT BEAR")
    page.set_input_files("#file", str(quiet))
    page.wait_for_selector("#submit:not([disabled])")
    page.locator("#submit").click()
    page.locator("#status.error").wait_for(timeout=10_000)
    assert "silent" in page.locator("#status").inner_text()


def _score_upload(page, bear_flac, text: str | None) -> None:
    if text is not None:
        page.fill("#text", text)
    page.set_input_files("#file", str(bear_flac))
    page.wait_for_selector("#submit:not([disabled])")
    page.locator("#submit").click()
    page.wait_for_selector("#result:not([hidden]) li.word", timeout=20_000)
    page.wait_for_function("document.querySelector('#status').textContent.startsWith('Done')")


def _symbols(word) -> list[str]:
    """The sounds shown under a word, without the heard-as and screen-reader parts."""
    return [t.split()[0].split("→")[0] for t in word.locator(".phone").all_inner_texts()]


def test_free_speech_without_a_sentence(page, bear_flac):
    """Nothing typed: the page sends no text, the (stand-in) transcript is the reference, and says so."""
    assert page.locator("#text").input_value() == ""
    _score_upload(page, bear_flac, None)
    note = page.locator("#reference-note")
    assert note.is_visible() and "No sentence given" in note.inner_text()
    assert "WE CALL IT BEAR" in note.inner_text()
    assert "transcribed" in page.locator("#status").inner_text()
    meters = page.locator("#sentence-scores [role=meter]")
    assert meters.count() == 4 and page.locator("#bar-completeness").count() == 0  # nothing was expected
    texts = page.locator("li.word .word-text").all_inner_texts()
    assert texts == ["WE", "CALL", "IT", "BEAR"]


def test_ipa_and_0_100_toggles_redraw_the_result(page, bear_flac):
    _score_upload(page, bear_flac, "WE CALL IT BEAR")
    bear = page.locator("li.word[data-index='3']")
    assert _symbols(bear) == ["B", "EH", "R"]
    accuracy = float(page.locator(".bar-value[data-aspect=accuracy]").inner_text())
    word_score = float(bear.locator(".word-score").inner_text().split(" ")[0])

    page.check("#view-ipa")
    assert _symbols(bear) == ["b", "ɛ", "ɹ"] and bear.locator(".word-ipa").inner_text() == "/bɛɹ/"
    heard = bear.locator(".phone.heard .heard-as").inner_text()
    assert heard.startswith("→") and not heard[1:].isascii()  # the heard sound in IPA too

    page.check("#view-100")
    shown = float(page.locator(".bar-value[data-aspect=accuracy]").inner_text())
    assert shown == pytest.approx(10 * accuracy, abs=1)  # 0-100 has no decimals, 0-10 one
    shown = float(bear.locator(".word-score").inner_text().split(" ")[0])
    assert shown == pytest.approx(10 * word_score, abs=1)
    meter = page.locator("#sentence-scores [role=meter]").first
    assert meter.get_attribute("aria-valuemax") == "100"
    assert "/ 100" in bear.locator(".phone").first.get_attribute("title")
    assert page.locator('[data-range="good"]').inner_text() == "80–100"
    # Colours and weak marks do not change with the view.
    assert float(bear.get_attribute("data-score")) == pytest.approx(word_score, abs=0.05)

    page.uncheck("#view-ipa")
    page.uncheck("#view-100")
    assert _symbols(bear) == ["B", "EH", "R"]
    assert bear.locator(".word-ipa").count() == 0


def test_attempts_are_remembered_in_the_tab_weakest_words_first(browser, served, page, bear_flac):
    assert page.locator("#attempts").is_hidden()
    _score_upload(page, bear_flac, "WE CALL IT BEAR")
    _score_upload(page, bear_flac, "TOM GIVES UP BOXING")
    items = page.locator("#attempt-list li")
    assert items.count() == 2
    newest, oldest = items.nth(0).inner_text(), items.nth(1).inner_text()
    assert "TOM GIVES UP BOXING" in newest and "WE CALL IT BEAR" in oldest
    # The double omits the word before the last: it leads the weakest words.
    assert "weakest: IT skipped" in oldest and "weakest: UP skipped" in newest
    page.reload()  # same tab: still there
    assert page.locator("#attempt-list li").count() == 2
    other = browser.new_context().new_page()  # another tab knows nothing of them
    other.goto(served[0] + "/")
    assert other.locator("#attempt-list li").count() == 0 and other.locator("#attempts").is_hidden()
    other.context.close()
    page.get_by_role("button", name="Forget my attempts").click()
    assert page.locator("#attempt-list li").count() == 0 and page.locator("#attempts").is_hidden()
