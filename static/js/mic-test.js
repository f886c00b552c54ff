// The briefing page's microphone check: permission, a live input level meter, and record-and-play-back.
// Its state is mirrored in data-state on #mic-test (idle, live, recording, recorded, denied, no-device,
// unsupported, error) so tests and styles can follow it.

const root = document.getElementById("mic-test");
if (root) setup(root);

function setup(root) {
  const status = root.querySelector(".mic-status");
  const fill = root.querySelector(".meter-fill");
  const meter = root.querySelector(".meter");
  const enableBtn = root.querySelector('[data-action="enable"]');
  const recordBtn = root.querySelector('[data-action="record"]');
  const audio = root.querySelector("audio.playback");
  let stream = null;
  let heardSomething = false;

  const say = (text, tone, state) => {
    status.textContent = text;
    status.className = "mic-status " + (tone || "");
    if (state) root.dataset.state = state;
  };
  root.dataset.state = "idle";

  enableBtn.addEventListener("click", async () => {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      say(
        window.isSecureContext
          ? "This browser cannot use a microphone. You can still do a text interview."
          : "Browsers only allow the microphone on https:// or localhost. Ask whoever runs this Rehearse to serve it with --tls, or do a text interview.",
        "error",
        "unsupported",
      );
      return;
    }
    enableBtn.disabled = true;
    say("Asking for permission…", "", "asking");
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
      });
    } catch (err) {
      enableBtn.disabled = false;
      const name = err && err.name;
      if (name === "NotAllowedError" || name === "SecurityError") {
        say("Microphone permission was denied. Allow it in your browser's site settings and try again; a text interview works without it.", "error", "denied");
      } else if (name === "NotFoundError" || name === "OverconstrainedError") {
        say("No microphone was found. Plug one in and try again, or do a text interview.", "error", "no-device");
      } else if (name === "NotReadableError") {
        say("The microphone is in use by another application. Close it and try again.", "error", "error");
      } else {
        say("The microphone could not be opened (" + (name || "unknown error") + ").", "error", "error");
      }
      return;
    }
    const track = stream.getAudioTracks()[0];
    track.addEventListener("ended", () => say("The microphone was disconnected.", "error", "no-device"));
    say("Microphone on" + (track.label ? " (" + track.label + ")" : "") + ". Say something and watch the meter.", "ok", "live");
    enableBtn.textContent = "Microphone on";
    recordBtn.disabled = !("MediaRecorder" in window);
    meterLoop(stream);
    setTimeout(() => {
      if (!heardSomething && root.dataset.state === "live") {
        say("We hear nothing yet. Check that the right microphone is selected and not muted.", "warn");
      }
    }, 4000);
  });

  recordBtn.addEventListener("click", () => {
    if (!stream) return;
    const chunks = [];
    const rec = new MediaRecorder(stream);
    rec.ondataavailable = (e) => e.data.size && chunks.push(e.data);
    rec.onstop = () => {
      const blob = new Blob(chunks, { type: rec.mimeType || "audio/webm" });
      audio.src = URL.createObjectURL(blob);
      audio.hidden = false;
      audio.play().catch(() => {});
      recordBtn.disabled = false;
      say("Here is how you sound. Record again any time.", "ok", "recorded");
    };
    recordBtn.disabled = true;
    say("Recording for 3 seconds…", "", "recording");
    rec.start();
    setTimeout(() => rec.state !== "inactive" && rec.stop(), 3000);
  });

  function meterLoop(stream) {
    const ctx = new (window.AudioContext || window.webkitAudioContext)();
    const source = ctx.createMediaStreamSource(stream);
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 1024;
    source.connect(analyser);
    const buf = new Float32Array(analyser.fftSize);
    const tick = () => {
      analyser.getFloatTimeDomainData(buf);
      let sum = 0;
      for (let i = 0; i < buf.length; i++) sum += buf[i] * buf[i];
      const rms = Math.sqrt(sum / buf.length);
      // Speech RMS is roughly 0.02-0.2; a log scale makes quiet voices visible.
      const level = Math.max(0, Math.min(100, Math.round((Math.log10(rms + 1e-5) + 3.2) * 40)));
      fill.style.width = level + "%";
      meter.setAttribute("aria-valuenow", String(level));
      if (level > 20) heardSomething = true;
      requestAnimationFrame(tick);
    };
    tick();
  }
}
