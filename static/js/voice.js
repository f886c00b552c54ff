// The interviewer's voice in the live page: plays the server's AudioOut frames (16-bit PCM at this page's rate)
// back to back through a short jitter buffer, and stops at once when the candidate takes the turn.
const KEY = "rehearse.voice";
// How far ahead the first frame of a turn is scheduled, to absorb network jitter.
const LEAD_S = 0.12;

export function createVoice() {
  const Ctx = window.AudioContext || window.webkitAudioContext;
  const ctx = Ctx ? new Ctx() : null;
  let nextTime = 0;
  let sources = [];
  let played = 0;
  return {
    supported: Boolean(ctx),
    get wanted() {
      return Boolean(ctx) && localStorage.getItem(KEY) === "on";
    },
    set wanted(on) {
      localStorage.setItem(KEY, on ? "on" : "off");
      if (on) this.resume();
      else this.stop();
    },
    get rate() {
      return ctx ? ctx.sampleRate : 0;
    },
    get played() {
      return played;
    },
    // Whether the interviewer's audio is playing now.
    get playing() {
      return Boolean(ctx) && sources.length > 0;
    },
    // Browsers start audio only after a user gesture.
    resume() {
      if (ctx && ctx.state === "suspended") ctx.resume();
    },
    play(frame) {
      if (!ctx || !this.wanted || !frame.pcm || frame.pcm.length < 2) return;
      const pcm = frame.pcm;
      const n = Math.floor(pcm.length / 2);
      const view = new DataView(pcm.buffer, pcm.byteOffset, n * 2);
      const buffer = ctx.createBuffer(1, n, frame.sampleRate);
      const out = buffer.getChannelData(0);
      for (let i = 0; i < n; i++) out[i] = view.getInt16(2 * i, true) / 32768;
      const source = ctx.createBufferSource();
      source.buffer = buffer;
      source.connect(ctx.destination);
      const at = Math.max(nextTime, ctx.currentTime + LEAD_S);
      source.start(at);
      nextTime = at + buffer.duration;
      sources.push(source);
      source.onended = () => {
        sources = sources.filter((s) => s !== source);
      };
      played++;
    },
    stop() {
      for (const s of sources) {
        try {
          s.stop();
        } catch (_) {
          // Already ended.
        }
      }
      sources = [];
      nextTime = 0;
    },
  };
}
