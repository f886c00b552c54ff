// Talking with the interviewer in the live page: what the microphone sends and when, and where the conversation
// stands. The level meter shows the microphone's loudness; Mute and push-to-talk (hold Space or the Talk button)
// close the microphone, and closing it sends the silence that ends an answer at once, so the server never waits
// for it; speaking over the interviewer stops its voice at once and tells the server (barge-in); the state pill
// says who has the floor: the interviewer speaking, thinking, or listening to you.

// Loudness (RMS, 0..1) over which the candidate is taken to be speaking over the interviewer, and for how many
// 20 ms chunks in a row: the browser's echo cancellation keeps the interviewer's own voice below it.
const BARGE_LEVEL = 0.04;
const BARGE_CHUNKS = 5;
const LABELS = { speaking: "Interviewer speaking", thinking: "Thinking…", listening: "Listening", muted: "Muted", turn: "Your turn" };

function loudness(pcm) {
  const n = Math.floor(pcm.byteLength / 2);
  if (!n) return 0;
  const view = new DataView(pcm.buffer, pcm.byteOffset, n * 2);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const x = view.getInt16(2 * i, true) / 32768;
    sum += x * x;
  }
  return Math.sqrt(sum / n);
}

export function createTalk({ voice, sendAudio, interrupt, els }) {
  let micOn = false;
  let muted = false;
  let pushToTalk = false;
  let holding = false;
  let gateWasOpen = false;
  let loudRun = 0;
  let endOfTurnMs = 1500;
  let serverState = "";
  let interruptions = 0;

  const open = () => micOn && !muted && (!pushToTalk || holding);

  // The silence that ends an answer, sent at once (in chunks of at most a second).
  function flushSilence() {
    let left = Math.round(((endOfTurnMs + 100) * 16000) / 1000);
    while (left > 0) {
      const n = Math.min(left, 16000);
      sendAudio(new Uint8Array(n * 2));
      left -= n;
    }
  }

  function render() {
    let state = voice.playing ? "speaking" : serverState;
    if (state === "listening" || (!state && micOn)) state = micOn ? (open() ? "listening" : "muted") : "turn";
    els.state.hidden = !(micOn || voice.wanted) || !state;
    els.state.dataset.state = state;
    els.state.textContent = LABELS[state] || "";
    els.tools.hidden = !micOn;
    els.talk.hidden = !pushToTalk;
    els.mute.setAttribute("aria-pressed", String(muted));
    els.mute.textContent = muted ? "Unmute" : "Mute";
  }
  setInterval(render, 250);

  function setGate() {
    const now = open();
    if (gateWasOpen && !now) flushSilence();
    gateWasOpen = now;
    render();
  }

  els.mute.addEventListener("click", () => {
    muted = !muted;
    setGate();
  });
  els.ptt.addEventListener("change", () => {
    pushToTalk = els.ptt.checked;
    holding = false;
    setGate();
  });
  const hold = (on) => {
    if (!pushToTalk || holding === on) return;
    holding = on;
    setGate();
  };
  els.talk.addEventListener("pointerdown", () => hold(true));
  for (const ev of ["pointerup", "pointerleave", "pointercancel"]) els.talk.addEventListener(ev, () => hold(false));
  const typing = (t) => t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName) || t.closest(".monaco-editor"));
  document.addEventListener("keydown", (e) => {
    if (e.code === "Space" && pushToTalk && !typing(e.target)) {
      e.preventDefault();
      if (!e.repeat) hold(true);
    }
  });
  document.addEventListener("keyup", (e) => {
    if (e.code === "Space" && pushToTalk) hold(false);
  });

  return {
    get interruptions() {
      return interruptions;
    },
    setMic(on) {
      micOn = on;
      gateWasOpen = open();
      loudRun = 0;
      render();
    },
    setEndOfTurn(ms) {
      if (ms > 0) endOfTurnMs = ms;
    },
    // A VoiceState frame from the server.
    voiceState(v) {
      if (v.interrupted) voice.stop();
      serverState = String(v.state || "").replace("STATE_", "").toLowerCase();
      if (serverState === "idle" || serverState === "unspecified") serverState = "";
      render();
    },
    // One 20 ms chunk from the microphone.
    chunk(pcm) {
      const level = loudness(pcm);
      els.level.style.width = `${Math.min(100, Math.round(Math.sqrt(level) * 250))}%`;
      if (!open()) {
        loudRun = 0;
        return;
      }
      if (voice.playing) {
        loudRun = level > BARGE_LEVEL ? loudRun + 1 : 0;
        if (loudRun >= BARGE_CHUNKS) {
          loudRun = 0;
          interruptions++;
          voice.stop();
          interrupt();
        }
      } else {
        loudRun = 0;
      }
      sendAudio(pcm);
    },
  };
}
