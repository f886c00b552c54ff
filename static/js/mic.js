// The candidate's microphone in the live page: echo cancellation and noise suppression from the browser, 16 kHz
// 20 ms chunks from an AudioWorklet (mic-worklet.js), handed to `onChunk` as bytes; `onEnded` is told when the
// microphone goes away by itself.
export async function startMic(onChunk, onEnded = () => {}) {
  if (!navigator.mediaDevices || !window.AudioWorkletNode) {
    throw new Error("this browser cannot capture audio here (the page needs https:// or localhost)");
  }
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
  });
  const ctx = new AudioContext();
  await ctx.audioWorklet.addModule("/static/js/mic-worklet.js");
  const source = ctx.createMediaStreamSource(stream);
  const node = new AudioWorkletNode(ctx, "rehearse-mic");
  // A silent path to the speakers keeps the worklet running.
  const mute = ctx.createGain();
  mute.gain.value = 0;
  source.connect(node).connect(mute).connect(ctx.destination);
  node.port.onmessage = (e) => onChunk(new Uint8Array(e.data));
  // A microphone that goes away (unplugged, permission revoked) ends capture.
  for (const track of stream.getAudioTracks()) {
    track.addEventListener("ended", () => {
      if (!stopped) onEnded();
      stop();
    });
  }
  let stopped = false;
  function stop() {
    if (stopped) return;
    stopped = true;
    node.port.onmessage = null;
    for (const track of stream.getTracks()) track.stop();
    ctx.close();
  }
  await ctx.resume();
  return { stop };
}
