// Practice page: pick a sentence, record or upload, POST /score, show the scores.
// Plain JS, no build step, no network beyond this server.
"use strict";

const SAMPLE_RATE = 16000; // what the models read; the server resamples anything else anyway
const MAX_SECONDS = 30;
const WEAK_PHONE = 1.5; // same cut point as feedback.py (phone accuracy is 0-2)
const FALLBACK_EXAMPLES = ["WE CALL IT BEAR", "TOM GIVES UP BOXING", "MARK LIVED IN NEW YORK"];
const SENTENCE_ASPECTS = ["accuracy", "completeness", "fluency", "prosodic", "total"];
// The 0-100 view: the one linear map of lmm_apa/data/scale100.py (FACTORS; a test checks they agree).
const SCALE_100 = { sentence: 10, word: 10, phone: 50 };
const ATTEMPTS_KEY = "lmm-apa-attempts";
const MAX_ATTEMPTS = 20;

const $ = (id) => document.getElementById(id);
// scored: the recording the shown result is about (the one sent), so that a word plays its own
// segment even after a new recording is made.
// result: the last response, drawn again when a view toggle changes.
const state = { audio: null, filename: null, recorder: null, timer: null, scored: null, stopAt: null, result: null };

// ---- scores -> colours (red < 5, amber < 8, green; as in feedback.py) ----
function scoreClass(score) {
  if (score === null || score === undefined) return "score-none";
  if (score < 5) return "score-bad";
  if (score < 8) return "score-mid";
  return "score-good";
}
const CLASS_WORDS = { "score-good": "good", "score-mid": "fair", "score-bad": "needs work", "score-none": "no score" };
const fmt = (x, digits = 1) => (x === null || x === undefined ? "–" : Number(x).toFixed(digits));

// ---- status line ----
function setStatus(message, isError = false) {
  const el = $("status");
  el.textContent = message;
  el.classList.toggle("error", isError);
}

function updateSubmit() {
  // No sentence is fine: the recording is then transcribed (unscripted speech).
  $("submit").disabled = !state.audio || state.recorder !== null;
}

// ---- audio: anything the browser decodes -> 16 kHz mono 16-bit WAV ----
// The server reads webm/opus and m4a too (PyAV), but a WAV is smaller to check and plays back
// everywhere, so we decode here when the browser can, and send the original when it cannot.
async function toWav(blob) {
  const bytes = await blob.arrayBuffer();
  // decodeAudioData resamples to the context's rate: an OfflineAudioContext at 16 kHz does both jobs.
  const ctx = new OfflineAudioContext(1, 1, SAMPLE_RATE);
  const buffer = await ctx.decodeAudioData(bytes);
  const n = buffer.length;
  const mono = new Float32Array(n);
  for (let c = 0; c < buffer.numberOfChannels; c++) {
    const data = buffer.getChannelData(c);
    for (let i = 0; i < n; i++) mono[i] += data[i] / buffer.numberOfChannels;
  }
  return encodeWav(mono, buffer.sampleRate);
}

function encodeWav(samples, rate) {
  const view = new DataView(new ArrayBuffer(44 + samples.length * 2));
  const text = (offset, s) => [...s].forEach((ch, i) => view.setUint8(offset + i, ch.charCodeAt(0)));
  text(0, "RIFF");
  view.setUint32(4, 36 + samples.length * 2, true);
  text(8, "WAVE");
  text(12, "fmt ");
  view.setUint32(16, 16, true); // PCM header size
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, rate, true);
  view.setUint32(28, rate * 2, true); // byte rate
  view.setUint16(32, 2, true); // block align
  view.setUint16(34, 16, true); // bits
  text(36, "data");
  view.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]));
    view.setInt16(44 + i * 2, s < 0 ? s * 0x8000 : s * 0x7fff, true);
  }
  return new Blob([view], { type: "audio/wav" });
}

function useAudio(blob, filename) {
  state.audio = blob;
  state.filename = filename;
  const preview = $("preview");
  if (preview.src) URL.revokeObjectURL(preview.src);
  preview.src = URL.createObjectURL(blob);
  preview.hidden = false;
  updateSubmit();
}

// ---- microphone ----
async function startRecording() {
  if (!navigator.mediaDevices || !window.MediaRecorder) {
    setStatus("This browser cannot record here (it needs https or localhost). Upload a file instead.", true);
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1 } });
  } catch (e) {
    setStatus(`Could not use the microphone (${e.name}). Allow it, or upload a file instead.`, true);
    return;
  }
  const chunks = [];
  const recorder = new MediaRecorder(stream);
  recorder.ondataavailable = (e) => e.data.size && chunks.push(e.data);
  recorder.onstop = async () => {
    stream.getTracks().forEach((t) => t.stop());
    const blob = new Blob(chunks, { type: recorder.mimeType });
    $("file").value = ""; // the recording replaces any chosen file
    try {
      useAudio(await toWav(blob), "recording.wav");
    } catch {
      // The browser cannot decode its own recording: the server reads webm/opus and mp4 itself.
      useAudio(blob, recorder.mimeType.includes("mp4") ? "recording.m4a" : "recording.webm");
    }
    setStatus("Recording ready. Press “Score my reading”.");
  };
  state.recorder = recorder;
  recorder.start();
  const started = performance.now();
  state.timer = setInterval(() => {
    const s = (performance.now() - started) / 1000;
    $("rec-time").textContent = `${s.toFixed(1)} s`;
    if (s >= MAX_SECONDS) stopRecording(); // the server refuses longer audio
  }, 100);
  setRecordButton(true);
  setStatus("Recording… read the sentence, then press Stop.");
  updateSubmit();
}

function stopRecording() {
  if (!state.recorder) return;
  clearInterval(state.timer);
  state.recorder.stop();
  state.recorder = null;
  setRecordButton(false);
  updateSubmit();
}

function setRecordButton(recording) {
  const btn = $("record");
  btn.setAttribute("aria-pressed", String(recording));
  btn.querySelector(".label").textContent = recording ? "Stop recording" : "Start recording";
}

// ---- upload ----
async function onFile() {
  const file = $("file").files[0];
  if (!file) return;
  try {
    useAudio(await toWav(file), file.name.replace(/\.[^.]*$/, "") + ".wav");
  } catch {
    // The browser cannot decode it: send it as it is and let the server say what is wrong.
    useAudio(file, file.name);
  }
  setStatus(`“${file.name}” ready. Press “Score my reading”.`);
}

// ---- scoring ----
async function submit(event) {
  event.preventDefault();
  if (!state.audio) return;
  const form = new FormData();
  const sent = state.audio;
  form.append("audio", sent, state.filename || "recording.wav");
  if ($("text").value.trim()) form.append("text", $("text").value);
  form.append("phones", "ipa"); // always: the IPA toggle then needs no second request
  $("submit").disabled = true;
  setStatus("Scoring…");
  try {
    const response = await fetch("/score", { method: "POST", body: form });
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      const message = body && body.error ? body.error.message : `the server answered ${response.status}`;
      const retry = response.headers.get("Retry-After");
      setStatus(`Could not score: ${message}${retry ? ` (try again in ${retry} s)` : ""}`, true);
      return;
    }
    render(body, sent);
    remember(body);
    setStatus(body.reference === "transcribed" ? "Done: no sentence given, so what you said was transcribed." : "Done.");
  } catch (e) {
    setStatus(`Could not reach the server (${e.message}).`, true);
  } finally {
    updateSubmit();
  }
}

function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child);
  return node;
}

// ---- play a word's own segment of the scored recording ----
function setPlayer(blob) {
  const player = $("player");
  stopSegment();
  if (state.scored === blob) return;
  if (player.src) URL.revokeObjectURL(player.src);
  state.scored = blob;
  player.src = URL.createObjectURL(blob);
}

async function playSegment(item) {
  const start = Number(item.dataset.start);
  const end = Number(item.dataset.end);
  if (!Number.isFinite(start) || !Number.isFinite(end)) return;
  const player = $("player");
  stopSegment();
  item.classList.add("playing");
  state.stopAt = { end, item };
  player.currentTime = start;
  try {
    await player.play();
  } catch (e) {
    stopSegment();
    setStatus(`Could not play the recording (${e.message}).`, true);
    return;
  }
  watchSegment();
}

// timeupdate fires only every ~250 ms: check every frame so the segment stops at its end.
function watchSegment() {
  const player = $("player");
  if (!state.stopAt) return;
  if (player.paused || player.ended || player.currentTime >= state.stopAt.end) {
    stopSegment();
    return;
  }
  requestAnimationFrame(watchSegment);
}

function stopSegment() {
  const player = $("player");
  if (!player.paused) player.pause();
  if (state.stopAt) state.stopAt.item.classList.remove("playing");
  state.stopAt = null;
}

const seconds = (t) => `${Number(t).toFixed(2)} s`;

function playable(node, start, end, label) {
  node.dataset.start = String(start);
  node.dataset.end = String(end);
  node.classList.add("playable");
  node.addEventListener("click", () => playSegment(node));
  return el("button", { type: "button", class: "play", "aria-label": label, title: label }, [
    el("span", { "aria-hidden": "true", text: "▶ " }),
    `${Number(start).toFixed(2)}–${seconds(end)}`,
  ]);
}

function render(result, audio) {
  if (audio) setPlayer(audio);
  state.result = result;
  draw();
  const section = $("result");
  section.hidden = false;
  section.focus();
}

// How the result is shown (the toggles): sounds in IPA or ARPAbet, scores on the corpus scales or 0-100.
function currentView() {
  const hundred = $("view-100").checked;
  const k = hundred ? SCALE_100 : { sentence: 1, word: 1, phone: 1 };
  return { ipa: $("view-ipa").checked, hundred, k, digits: hundred ? 0 : 1 };
}

function draw() {
  const result = state.result;
  if (!result) return;
  const view = currentView();
  const note = $("reference-note");
  note.hidden = result.reference !== "transcribed";
  note.textContent = note.hidden ? "" : `No sentence given: scored against what was heard, “${result.text}”. Completeness is left out.`;
  const w = view.k.word;
  $("result").querySelector('[data-range="good"]').textContent = `${8 * w}–${10 * w}`;
  $("result").querySelector('[data-range="mid"]').textContent = `${5 * w}–${7 * w}`;
  $("result").querySelector('[data-range="bad"]').textContent = `0–${4 * w}`;

  const bars = $("sentence-scores");
  bars.replaceChildren();
  for (const aspect of SENTENCE_ASPECTS) {
    const value = result[aspect];
    if (value === undefined) continue;
    const cls = scoreClass(value);
    const shown = value * view.k.sentence;
    const fill = el("span", { style: `width:${(value / 10) * 100}%` });
    bars.append(
      el("span", { class: "bar-label", id: `bar-${aspect}`, text: aspect }),
      el("div", {
        class: `bar ${cls}`, role: "meter", "aria-labelledby": `bar-${aspect}`,
        "aria-valuemin": "0", "aria-valuemax": String(10 * view.k.sentence), "aria-valuenow": String(shown),
      }, [fill]),
      el("span", { class: "bar-value", "data-aspect": aspect, text: fmt(shown, view.digits) }),
    );
  }

  const words = $("words");
  words.replaceChildren();
  // Extra speech (a forced aligner's finding) goes after the word it follows.
  const insertions = result.insertions || [];
  const extraAfter = (i) => insertions.filter((x) => x.after_word === i).forEach((x) => words.append(extra(x)));
  extraAfter(-1);
  result.words.forEach((word, i) => {
    const score = word.total ?? word.accuracy;
    const cls = scoreClass(score);
    const error = word.error_type;
    const phones = el("span", { class: "phones", "aria-label": "sounds" });
    const accs = word["phones-accuracy"] || [];
    const heardAs = word["phones-heard"] || [];
    const ipa = view.ipa && word["phones-ipa"] ? word["phones-ipa"] : null;
    const heardIpa = word["phones-heard-ipa"] || [];
    const outOf = 2 * view.k.phone;
    word.phones.forEach((symbol, j) => {
      const acc = accs[j];
      const heard = heardAs[j];
      const weak = (acc !== null && acc !== undefined && acc < WEAK_PHONE) || Boolean(heard);
      const shownHeard = ipa ? heardIpa[j] || heard : heard;
      const shownAcc = acc === null || acc === undefined ? acc : acc * view.k.phone;
      const phone = el("span", {
        class: `phone${weak ? " weak" : ""}${heard ? " heard" : ""}`,
        "data-accuracy": String(acc ?? ""),
        title: `${symbol}${ipa ? ` /${ipa[j]}/` : ""}: ${fmt(shownAcc, view.digits)} / ${outOf}${heard ? `, heard as ${shownHeard}` : weak ? " (weak)" : ""}`,
        text: ipa ? ipa[j] : symbol.replace(/\d$/, ""),
      });
      if (heard) {
        phone.dataset.heard = heard;
        phone.append(
          el("span", { class: "heard-as", "aria-hidden": "true", text: `→${shownHeard}` }),
          el("span", { class: "sr-only", text: ` (heard as ${shownHeard})` }),
        );
      } else if (weak) phone.append(el("span", { class: "sr-only", text: " (weak)" }));
      phones.append(phone);
    });
    const f = (x, digits = view.digits) => fmt(x === null || x === undefined ? x : x * view.k.word, digits);
    const details = [`total ${f(word.total)}`, `accuracy ${f(word.accuracy)}`, `stress ${f(word.stress, 0)}`];
    const classes = ["word", cls, error === "omission" ? "omitted" : "", error === "mispronunciation" ? "mispronounced" : ""];
    const item = el("li", {
      class: classes.filter(Boolean).join(" "),
      "data-index": String(i),
      "data-score": String(score ?? ""),
    }, [
      el("div", { class: "word-text", text: word.text }),
      ...(ipa && word.ipa ? [el("div", { class: "word-ipa", text: `/${word.ipa}/` })] : []),
      el("div", { class: "word-score", text: `${f(score)} · ${CLASS_WORDS[cls]}`, title: details.join(", ") }),
      phones,
    ]);
    if (error) item.dataset.error = error;
    if (error === "omission") {
      item.append(el("div", { class: "error-label", text: "skipped" }));
    } else if (error === "mispronunciation") {
      item.append(el("div", { class: "error-label", text: "mispronounced" }));
    }
    // Omitted words have no time in the recording: nothing to play.
    const timed = typeof word.start === "number" && typeof word.end === "number" && error !== "omission";
    if (timed && state.scored) {
      item.append(playable(item, word.start, word.end, `Play your ${word.text} (${seconds(word.start)} to ${seconds(word.end)})`));
    }
    words.append(item);
    extraAfter(i);
  });

  drawQuality(result.quality);

  const hints = $("hints");
  hints.replaceChildren();
  const feedback = result.feedback || [];
  if (feedback.length === 0) hints.append(el("li", { text: "Well read: no word stood out as weak." }));
  for (const hint of feedback) hints.append(el("li", { class: "hint", text: hint.message }));
  drawAttempts();
}

// The recording's quality (the server's `quality`): one line, and its warnings where scores are less reliable.
function drawQuality(quality) {
  const box = $("quality");
  box.replaceChildren();
  box.hidden = !quality;
  if (!quality) return;
  box.append(el("p", {
    class: "help quality-summary",
    text: `Recording: ${quality.speech_seconds.toFixed(1)} s of speech in ${quality.duration_seconds.toFixed(1)} s, ` +
      `${Math.round(quality.snr_db)} dB above the background noise.`,
  }));
  if (quality.warnings.length) {
    box.append(el("ul", { class: "quality-warnings" }, quality.warnings.map((w) => el("li", { text: w }))));
  }
}

// ---- attempts: kept in this tab's sessionStorage only, so a learner can compare tries ----
function loadAttempts() {
  try {
    return JSON.parse(sessionStorage.getItem(ATTEMPTS_KEY) || "[]");
  } catch {
    return [];
  }
}

function remember(result) {
  const words = result.words.map((w) => ({ text: w.text, score: w.total ?? w.accuracy ?? null, error: w.error_type || null }));
  const attempt = { at: new Date().toISOString(), text: result.text, transcribed: result.reference === "transcribed", total: result.total ?? null, words };
  const attempts = [...loadAttempts(), attempt].slice(-MAX_ATTEMPTS);
  try {
    sessionStorage.setItem(ATTEMPTS_KEY, JSON.stringify(attempts));
  } catch {
    /* storage full or off: the page works without it */
  }
  drawAttempts();
}

function drawAttempts() {
  const attempts = loadAttempts();
  const view = currentView();
  const list = $("attempt-list");
  list.replaceChildren();
  $("attempts").hidden = attempts.length === 0;
  const f = (x, k) => fmt(x === null || x === undefined ? x : x * k, view.digits);
  for (const a of [...attempts].reverse()) {
    // Weakest words first: skipped ones, then by score; words without a score last.
    const weakest = [...a.words]
      .sort((x, y) => (x.error === "omission" ? -1 : x.score ?? 99) - (y.error === "omission" ? -1 : y.score ?? 99))
      .slice(0, 3)
      .map((w) => `${w.text} ${w.error === "omission" ? "skipped" : f(w.score, view.k.word)}`);
    const time = new Date(a.at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
    list.append(el("li", { class: "attempt" }, [
      `${time} · “${a.text}”${a.transcribed ? " (transcribed)" : ""} · total `,
      el("span", { class: "attempt-total", text: f(a.total, view.k.sentence) }),
      el("span", { class: "attempt-weak", text: ` · weakest: ${weakest.join(", ")}` }),
    ]));
  }
}

function extra(insertion) {
  const item = el("li", { class: "extra", title: "Extra speech between the words" }, [
    el("span", { class: "extra-label", text: "+ extra sound" }),
  ]);
  if (state.scored) item.append(playable(item, insertion.start, insertion.end, `Play the extra sound (${seconds(insertion.start)} to ${seconds(insertion.end)})`));
  return item;
}

// ---- examples ----
async function loadExamples() {
  let sentences = FALLBACK_EXAMPLES;
  try {
    const response = await fetch("/examples");
    if (response.ok) sentences = await response.json();
  } catch {
    /* keep the built-in ones */
  }
  const box = $("examples");
  for (const sentence of sentences) {
    const chip = el("button", { type: "button", class: "chip", text: sentence });
    chip.addEventListener("click", () => {
      $("text").value = sentence;
      updateSubmit();
      $("record").focus();
    });
    box.append(chip);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("record").addEventListener("click", () => (state.recorder ? stopRecording() : startRecording()));
  $("file").addEventListener("change", onFile);
  $("text").addEventListener("input", updateSubmit);
  $("score-form").addEventListener("submit", submit);
  $("view-ipa").addEventListener("change", draw);
  $("view-100").addEventListener("change", draw);
  $("clear-attempts").addEventListener("click", () => {
    sessionStorage.removeItem(ATTEMPTS_KEY);
    drawAttempts();
  });
  drawAttempts();
  loadExamples();
});
