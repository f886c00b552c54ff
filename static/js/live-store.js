// The live interview's client state, in one small store: the page's other code reads it and dispatches events.
// Answers not yet acknowledged by the server are kept in localStorage, so a dropped connection or a reload never
// loses one; they are re-sent under the same answer id, which the server stores once.

export function createStore(sessionId) {
  const key = "rehearse.pending." + sessionId;
  const state = {
    status: "SESSION_STATUS_PENDING",
    companyName: "",
    roleTitle: "",
    interviewer: "",
    rounds: [],
    current: 0,
    remainingMs: null,
    remainingAt: 0,
    warning: false,
    round: null,
    transcript: [], // {id, speaker: "interviewer" | "candidate", text, final}
    pending: load(key),
    connection: "connecting", // idle | connecting | open | retrying | closed
    retryAt: 0,
    notice: "",
    codeResult: null,
  };
  const listeners = new Set();
  const emit = () => listeners.forEach((f) => f(state));
  const save = () => localStorage.setItem(key, JSON.stringify(state.pending));

  function upsertTurn(id, speaker, text, final, append) {
    let t = state.transcript.find((x) => x.id === id);
    if (!t) {
      t = { id, speaker, text: "", final: false };
      state.transcript.push(t);
    }
    t.text = append ? t.text + text : text;
    t.final = final;
  }

  return {
    state,
    subscribe(f) { listeners.add(f); f(state); return () => listeners.delete(f); },
    connection(status, retryAt = 0) { state.connection = status; state.retryAt = retryAt; emit(); },
    notice(text) { state.notice = text; emit(); },
    queueAnswer(text) {
      const answerId = (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2)) ;
      const item = { answerId, text, seq: Date.now() };
      state.pending.push(item);
      save();
      emit();
      return item;
    },
    // One decoded ServerFrame.
    apply(frame) {
      if (frame.sessionState) {
        const s = frame.sessionState;
        state.status = s.status;
        state.companyName = s.companyName;
        state.roleTitle = s.roleTitle;
        state.interviewer = s.interviewerName;
        state.ttsAvailable = Boolean(s.ttsAvailable);
        state.sttAvailable = Boolean(s.sttAvailable);
        state.rounds = s.rounds;
        state.current = s.currentRound;
        // A snapshot follows: the transcript is rebuilt from it.
        if (s.status === "SESSION_STATUS_IN_PROGRESS" || s.status === "SESSION_STATUS_PENDING") state.transcript = [];
      } else if (frame.roundStarted) {
        const r = frame.roundStarted;
        state.round = r;
        state.current = r.round.index;
        state.remainingMs = r.remainingMs;
        state.remainingAt = performance.now();
        state.warning = false;
      } else if (frame.roundEnded) {
        const r = state.rounds.find((x) => x.index === frame.roundEnded.index);
        if (r) r.done = true;
      } else if (frame.timer) {
        state.remainingMs = frame.timer.remainingMs;
        state.remainingAt = performance.now();
        state.warning = frame.timer.warning;
      } else if (frame.interviewerText) {
        const d = frame.interviewerText;
        if (!d.done) upsertTurn(d.turnId, "interviewer", d.delta, false, true);
      } else if (frame.transcript) {
        const t = frame.transcript;
        const speaker = t.speaker === "SPEAKER_CANDIDATE" ? "candidate" : "interviewer";
        // A delta with no text withdraws its turn (the caption of a spoken answer, once the answer is stored).
        if (!t.text) state.transcript = state.transcript.filter((x) => x.id !== t.turnId);
        else upsertTurn(t.turnId, speaker, t.text, t.isFinal, false);
      } else if (frame.ack) {
        state.pending = state.pending.filter((p) => p.answerId !== frame.ack.answerId);
        save();
      } else if (frame.codeResult) {
        state.codeResult = frame.codeResult;
      } else if (frame.notice) {
        state.notice = frame.notice.message;
      } else if (frame.error) {
        state.notice = frame.error.message;
        if (frame.error.code === "session_closed") state.pending = [], save();
      }
      emit();
    },
  };
}

function load(key) {
  try {
    const v = JSON.parse(localStorage.getItem(key) || "[]");
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}
