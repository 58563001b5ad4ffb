// Practice page: pick a sentence, record or upload, POST /score, show the scores.
// Plain JS, no build step, no network beyond this server.
"use strict";

const SAMPLE_RATE = 16000; // what the models read; the server resamples anything else anyway
const MAX_SECONDS = 30;
const WEAK_PHONE = 1.5; // same cut point as feedback.py (phone accuracy is 0-2)
const FALLBACK_EXAMPLES = ["WE CALL IT BEAR", "TOM GIVES UP BOXING", "MARK LIVED IN NEW YORK"];
const SENTENCE_ASPECTS = ["accuracy", "completeness", "fluency", "prosodic", "total"];

const $ = (id) => document.getElementById(id);
// scored: the recording the shown result is about (the one sent), so that a word plays its own
// segment even after a new recording is made.
const state = { audio: null, filename: null, recorder: null, timer: null, scored: null, stopAt: null };

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
  $("submit").disabled = !(state.audio && $("text").value.trim()) || state.recorder !== null;
}

// ---- audio: anything the browser decodes -> 16 kHz mono 16-bit WAV ----
// The server reads WAV/FLAC/OGG/MP3 only; MediaRecorder gives webm/opus, so we decode here.
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
    try {
      const wav = await toWav(new Blob(chunks, { type: recorder.mimeType }));
      $("file").value = ""; // the recording replaces any chosen file
      useAudio(wav, "recording.wav");
      setStatus("Recording ready. Press “Score my reading”.");
    } catch (e) {
      setStatus(`Could not read the recording (${e.message}). Try again or upload a file.`, true);
    }
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
  form.append("text", $("text").value);
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
    setStatus("Done.");
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
  const bars = $("sentence-scores");
  bars.replaceChildren();
  for (const aspect of SENTENCE_ASPECTS) {
    const value = result[aspect];
    if (value === undefined) continue;
    const cls = scoreClass(value);
    const fill = el("span", { style: `width:${(value / 10) * 100}%` });
    bars.append(
      el("span", { class: "bar-label", id: `bar-${aspect}`, text: aspect }),
      el("div", {
        class: `bar ${cls}`, role: "meter", "aria-labelledby": `bar-${aspect}`,
        "aria-valuemin": "0", "aria-valuemax": "10", "aria-valuenow": String(value),
      }, [fill]),
      el("span", { class: "bar-value", "data-aspect": aspect, text: fmt(value) }),
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
    word.phones.forEach((symbol, j) => {
      const acc = accs[j];
      const heard = heardAs[j];
      const weak = (acc !== null && acc !== undefined && acc < WEAK_PHONE) || Boolean(heard);
      const base = symbol.replace(/\d$/, "");
      const phone = el("span", {
        class: `phone${weak ? " weak" : ""}${heard ? " heard" : ""}`,
        "data-accuracy": String(acc ?? ""),
        title: `${symbol}: ${fmt(acc)} / 2${heard ? `, heard as ${heard}` : weak ? " (weak)" : ""}`,
        text: base,
      });
      if (heard) {
        phone.dataset.heard = heard;
        phone.append(
          el("span", { class: "heard-as", "aria-hidden": "true", text: `→${heard}` }),
          el("span", { class: "sr-only", text: ` (heard as ${heard})` }),
        );
      } else if (weak) phone.append(el("span", { class: "sr-only", text: " (weak)" }));
      phones.append(phone);
    });
    const details = [`total ${fmt(word.total)}`, `accuracy ${fmt(word.accuracy)}`, `stress ${fmt(word.stress, 0)}`];
    const classes = ["word", cls, error === "omission" ? "omitted" : "", error === "mispronunciation" ? "mispronounced" : ""];
    const item = el("li", {
      class: classes.filter(Boolean).join(" "),
      "data-index": String(i),
      "data-score": String(score ?? ""),
    }, [
      el("div", { class: "word-text", text: word.text }),
      el("div", { class: "word-score", text: `${fmt(score)} · ${CLASS_WORDS[cls]}`, title: details.join(", ") }),
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

  const hints = $("hints");
  hints.replaceChildren();
  const feedback = result.feedback || [];
  if (feedback.length === 0) hints.append(el("li", { text: "Well read: no word stood out as weak." }));
  for (const hint of feedback) hints.append(el("li", { class: "hint", text: hint.message }));

  const section = $("result");
  section.hidden = false;
  section.focus();
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
  loadExamples();
});
