// The live interview page: connects the realtime WebSocket (protobuf frames, see proto.js), renders the store,
// sends answers and controls, and reconnects with backoff. Server-rendered markup provides the elements.
import { Codec } from "./proto.js";
import { schema } from "./realtime-schema.js";
import { createStore } from "./live-store.js";
import { createEditor } from "./editor.js";
import { createVoice } from "./voice.js";
import { createTalk } from "./talk.js";
import { startMic } from "./mic.js";
import { renderMarkdown } from "./markdown.js";

const root = document.getElementById("live");
if (root) main(root);

function main(root) {
  const sessionId = root.dataset.sessionId;
  const codec = new Codec(schema);
  const store = createStore(sessionId);
  const voice = createVoice();
  const $ = (sel) => root.querySelector(sel);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  let ws = null;
  let seq = 1;
  let attempt = 0;
  let stopped = false;

  function send(kind) {
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(codec.encode("rehearse.v1.ClientFrame", { seq: seq++, ...kind }));
    return true;
  }

  function sendPending() {
    for (const p of store.state.pending) send({ textAnswer: { answerId: p.answerId, text: p.text } });
  }

  async function connect() {
    if (stopped) return;
    store.connection(attempt ? "retrying" : "connecting");
    let url;
    try {
      const r = await fetch(`/api/v1/sessions/${sessionId}/realtime-token`, {
        method: "POST", headers: { "x-csrf-token": csrf }, credentials: "same-origin",
      });
      if (r.status === 409 || r.status === 404 || r.status === 401 || r.status === 403) {
        // The interview is over (or gone), or the login ended (a logout in another tab leaves this page's CSRF
        // token stale): the page as it now is says which.
        stopped = true;
        location.reload();
        return;
      }
      if (!r.ok) throw new Error("token " + r.status);
      url = (await r.json()).ws_url;
    } catch (e) {
      return retry();
    }
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    ws = new WebSocket(`${proto}//${location.host}${url}`);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => {
      attempt = 0;
      store.connection("open");
      send({ hello: { clientVersion: "web", wantAudio: voice.wanted, playbackSampleRate: voice.rate } });
      sendPending();
    };
    ws.onmessage = (ev) => {
      const frame = codec.decode("rehearse.v1.ServerFrame", new Uint8Array(ev.data));
      if (frame.audio) {
        voice.play(frame.audio);
        voiceToggle.dataset.played = String(voice.played);
        return;
      }
      if (frame.voiceState) {
        talk.voiceState(frame.voiceState);
        return;
      }
      if (frame.sessionState) talk.setEndOfTurn(frame.sessionState.endOfTurnMs);
      store.apply(frame);
      if (frame.sessionState && frame.sessionState.status === "SESSION_STATUS_COMPLETED") {
        // Finished: the results page shows the report as soon as it is scored.
        stopped = true;
        setTimeout(() => location.assign(`${location.pathname}/results`), 1500);
      } else if (frame.sessionState && frame.sessionState.status === "SESSION_STATUS_ABANDONED") {
        stopped = true;
        setTimeout(() => location.reload(), 1500);
      }
    };
    ws.onclose = () => {
      ws = null;
      retry();
    };
  }

  function retry() {
    if (stopped) return store.connection("closed");
    attempt++;
    const delay = Math.min(15000, 500 * 2 ** Math.min(attempt - 1, 5)) * (0.75 + Math.random() / 2);
    store.connection("retrying", performance.now() + delay);
    setTimeout(connect, delay);
  }

  // Answer box: Enter sends, Shift+Enter is a new line.
  // The interviewer's voice: on when the candidate turns it on (remembered), if the server has a voice. Turning it
  // on or off reconnects, because the server learns what a connection wants from its Hello.
  const voiceToggle = $("#voice");
  voiceToggle.checked = voice.wanted;
  voiceToggle.addEventListener("change", () => {
    voice.wanted = voiceToggle.checked;
    if (ws) ws.close();
  });
  document.addEventListener("click", () => voice.resume(), { once: true });

  // The microphone: while on, 20 ms chunks go to the server, which decides when an answer is finished; talk.js
  // gates them (mute, push-to-talk), meters them and notices the candidate speaking over the interviewer.
  const micToggle = $("#mic");
  let mic = null;
  let audioSequence = 0;
  const talk = createTalk({
    voice,
    sendAudio: (pcm) => {
      if (ws && ws.readyState === WebSocket.OPEN) send({ audio: { sequence: audioSequence++, sampleRate: 16000, pcm } });
    },
    interrupt: () => {
      send({ control: { action: "ACTION_INTERRUPT" } });
      micToggle.closest("label").dataset.interruptions = String(talk.interruptions);
    },
    els: { tools: $("#mic-tools"), level: $("#mic-level"), ptt: $("#ptt"), talk: $("#talk"), mute: $("#mute"), state: $("#voice-state") },
  });
  micToggle.addEventListener("change", async () => {
    if (!micToggle.checked) {
      if (mic) mic.stop();
      mic = null;
      talk.setMic(false);
      return;
    }
    try {
      mic = await startMic(
        (pcm) => talk.chunk(pcm),
        () => {
          // The microphone went away (unplugged, permission revoked): back to typing, and say so.
          mic = null;
          micToggle.checked = false;
          talk.setMic(false);
          const notice = $("#notice");
          notice.textContent = "The microphone stopped. Turn it on again, or type your answers.";
          notice.hidden = false;
        },
      );
      talk.setMic(true);
    } catch (e) {
      micToggle.checked = false;
      const notice = $("#notice");
      notice.textContent = `The microphone is not available (${e.message || e.name}). Type your answers instead.`;
      notice.hidden = false;
    }
  });

  const form = $("#answer-form");
  const box = $("#answer");
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const text = box.value.trim();
    if (!text) return;
    // The candidate takes the turn: the interviewer stops talking (and the server stops its voice).
    if (voice.playing) send({ control: { action: "ACTION_INTERRUPT" } });
    voice.stop();
    const item = store.queueAnswer(text);
    box.value = "";
    send({ textAnswer: { answerId: item.answerId, text: item.text } });
  });
  box.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  for (const btn of root.querySelectorAll("[data-control]")) {
    btn.addEventListener("click", () => {
      const action = btn.dataset.control;
      if (btn.dataset.confirm && !confirm(btn.dataset.confirm)) return;
      send({ control: { action } });
    });
  }

  // Rendering.
  const list = $("#transcript");
  const rendered = new Map();
  let shownBrief = null;
  store.subscribe((s) => {
    $("#voice-toggle").hidden = !(s.ttsAvailable && voice.supported);
    $("#mic-toggle").hidden = !s.sttAvailable;
    // Text fallback: say what this server cannot do by voice, once it has told us.
    const missing = [!s.sttAvailable && "listen to spoken answers", !s.ttsAvailable && "speak"].filter(Boolean);
    $("#speech-note").hidden = s.connection !== "open" || !missing.length;
    $("#speech-note").textContent = missing.length
      ? `This server cannot ${missing.join(" or ")} (no local speech model is installed or it failed to load), so this part of the interview is in text.`
      : "";
    $("#conn").dataset.state = s.connection;
    $("#conn-label").textContent =
      ({ open: "Connected", retrying: "Reconnecting…", closed: "Closed", idle: "Not started" })[s.connection] || "Connecting…";
    const round = s.rounds.find((r) => r.index === s.current);
    $("#round-title").textContent = round ? `Round ${s.current + 1} of ${s.rounds.length}: ${round.title}` : "";
    root.querySelectorAll("#rounds li").forEach((li) => {
      const i = Number(li.dataset.index);
      li.classList.toggle("current", i === s.current);
      li.classList.toggle("done", i < s.current);
    });
    $("#notice").textContent = s.notice;
    $("#notice").hidden = !s.notice;
    $("#pending").textContent = s.pending.length ? `${s.pending.length} answer(s) waiting to be sent…` : "";
    const prompt = s.round && (s.round.designPrompt || (s.round.problem && s.round.problem.statementMarkdown));
    $("#brief").hidden = !prompt;
    if (prompt && prompt !== shownBrief) {
      renderMarkdown($("#brief-text"), prompt);
      shownBrief = prompt;
    }
    // The transcript: add new turns, update changed ones, drop ones a snapshot removed.
    const ids = new Set(s.transcript.map((t) => t.id));
    for (const [id, el] of rendered) if (!ids.has(id)) { el.remove(); rendered.delete(id); }
    for (const t of s.transcript) {
      let el = rendered.get(t.id);
      if (!el) {
        el = document.createElement("li");
        el.className = "turn " + t.speaker;
        el.innerHTML = '<span class="who"></span><p class="text"></p>';
        el.querySelector(".who").textContent = t.speaker === "candidate" ? "You" : s.interviewer || "Interviewer";
        list.appendChild(el);
        rendered.set(t.id, el);
      }
      el.querySelector(".text").textContent = t.text;
      el.classList.toggle("streaming", !t.final);
      el.dataset.final = String(t.final);
    }
    list.parentElement.scrollTop = list.parentElement.scrollHeight;
  });

  // Coding rounds: the editor starts from the problem's starter code, is saved as the candidate types (debounced),
  // and Run / Submit send the code to be judged in the sandbox.
  const code = $("#code");
  const src = $("#code-src");
  const lang = $("#code-lang");
  const LANG = { python: "LANGUAGE_PYTHON", javascript: "LANGUAGE_JAVASCRIPT", c: "LANGUAGE_C" };
  const LANG_NAME = Object.fromEntries(Object.entries(LANG).map(([k, v]) => [v, k]));
  let problemId = null;
  let starter = {};
  // What the candidate wrote per language (restored from the server after a reload).
  let drafts = {};
  let revision = 0;
  let saveTimer = null;
  src.addEventListener("keydown", (e) => {
    if (e.key === "Tab") {
      e.preventDefault();
      src.setRangeText("    ", src.selectionStart, src.selectionEnd, "end");
    }
  });
  const editor = createEditor(src, () => {
    drafts[lang.value] = editor.value;
    clearTimeout(saveTimer);
    saveTimer = setTimeout(() => send({ codeUpdate: { language: LANG[lang.value], source: editor.value, revision: ++revision } }), 1000);
  });
  const show = (text) => {
    editor.setLanguage(lang.value);
    editor.value = text;
  };
  editor.ready.then(() => editor.setLanguage(lang.value));
  lang.addEventListener("change", () => show(drafts[lang.value] || starter[lang.value] || ""));
  for (const btn of root.querySelectorAll("[data-run]")) {
    btn.addEventListener("click", () => {
      const sent = send({ codeRun: { runId: String(Date.now()), mode: btn.dataset.run, language: LANG[lang.value], source: editor.value } });
      $("#code-status").textContent = sent ? "Running…" : "Not connected.";
    });
  }
  store.subscribe((s) => {
    const problem = s.round && s.round.problem;
    code.hidden = !problem;
    if (problem && problem.id !== problemId) {
      problemId = problem.id;
      starter = problem.starterCode || {};
      drafts = {};
      // The code saved before a reload comes back, in the language last changed.
      for (const saved of s.round.savedCode || []) {
        const name = LANG_NAME[saved.language];
        if (!name) continue;
        drafts[name] = saved.source;
        lang.value = name;
        revision = Math.max(revision, Number(saved.revision || 0));
      }
      show(drafts[lang.value] || starter[lang.value] || "");
    }
    const r = s.codeResult;
    const out = $("#code-results");
    if (!r) return;
    $("#code-status").textContent = "";
    const name = (v) => String(v).replace("VERDICT_", "").toLowerCase().replaceAll("_", " ");
    const hidden = r.mode === "RUN_MODE_SUBMIT";
    out.replaceChildren();
    const head = document.createElement("p");
    head.className = "code-verdict " + (r.verdict === "VERDICT_ACCEPTED" ? "ok" : "bad");
    head.textContent = `${name(r.verdict)}: ${r.passed} of ${r.total} ${hidden ? "hidden " : ""}tests passed · ${r.timeMs} ms`;
    out.appendChild(head);
    const list = document.createElement("ol");
    list.className = "code-tests";
    for (const t of r.tests) {
      const li = document.createElement("li");
      li.textContent = name(t.verdict) + (t.hidden ? "" : ` · expected ${t.expectedJson}, got ${t.actualJson || "nothing"}`);
      li.className = t.verdict === "VERDICT_ACCEPTED" ? "ok" : "bad";
      list.appendChild(li);
    }
    out.appendChild(list);
    for (const [label, text] of [["Compiler", r.compileOutput], ["Output", r.stdout], ["Errors", r.stderr]]) {
      if (!text) continue;
      const pre = document.createElement("pre");
      pre.textContent = `${label}:\n${text.slice(0, 4000)}`;
      out.appendChild(pre);
    }
  });

  // The countdown runs locally between the server's timer frames.
  setInterval(() => {
    const s = store.state;
    const el = $("#timer");
    if (s.remainingMs == null) return (el.textContent = "--:--");
    const left = Math.max(0, s.remainingMs - (performance.now() - s.remainingAt));
    const m = Math.floor(left / 60000);
    const sec = Math.floor((left % 60000) / 1000);
    el.textContent = `${String(m).padStart(2, "0")}:${String(sec).padStart(2, "0")}`;
    el.classList.toggle("warning", s.warning || left < 120000);
  }, 250);

  window.addEventListener("online", () => { if (!ws && !lobby) { attempt = 0; connect(); } });
  // A new interview waits in the lobby: connecting starts it (and its clock), so it waits for "Begin".
  let lobby = root.querySelector("#lobby");
  if (lobby) {
    store.connection("idle");
    root.querySelector("#begin").addEventListener("click", () => {
      lobby.remove();
      lobby = null;
      connect();
      box.focus();
    });
  } else {
    connect();
  }
}
