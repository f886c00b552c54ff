// Checks the browser codec against the golden frames in frames.json: encoding each value gives exactly the bytes
// that prost produced (tests/proto.rs checks the Rust side against the same bytes), and decoding those bytes gives
// the value back. Runs in Node (tests/js/proto_check.mjs) and in Chromium (tests/browser). Returns failures.

const hexToBytes = (hex) => new Uint8Array(hex.match(/../g)?.map((h) => parseInt(h, 16)) ?? []);
const bytesToHex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

function revive(v) {
  if (Array.isArray(v)) return v.map(revive);
  if (v && typeof v === "object") {
    if ("$bytes" in v) return new Uint8Array(v.$bytes);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revive(x)]));
  }
  return v;
}

function isDefault(v) {
  if (v === 0 || v === "" || v === false) return true;
  if (typeof v === "string" && v.endsWith("_UNSPECIFIED")) return true;
  if (v instanceof Uint8Array || Array.isArray(v)) return v.length === 0;
  if (v && typeof v === "object") return Object.keys(v).length === 0;
  return false;
}

// `decoded` matches `expected` when every expected field is equal and every other decoded field is a default.
function match(decoded, expected, path, out) {
  if (expected instanceof Uint8Array) {
    if (!(decoded instanceof Uint8Array) || bytesToHex(decoded) !== bytesToHex(expected)) out.push(path + ": bytes differ");
    return;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(decoded) || decoded.length !== expected.length) { out.push(path + ": array length differs"); return; }
    expected.forEach((x, i) => match(decoded[i], x, path + "[" + i + "]", out));
    return;
  }
  if (expected && typeof expected === "object") {
    if (!decoded || typeof decoded !== "object") { out.push(path + ": expected a message"); return; }
    for (const [k, x] of Object.entries(expected)) match(decoded[k], x, path + "." + k, out);
    for (const [k, x] of Object.entries(decoded)) {
      if (!(k in expected) && x !== undefined && !isDefault(x)) out.push(path + "." + k + ": unexpected " + JSON.stringify(x));
    }
    return;
  }
  if (decoded !== expected) out.push(path + ": " + JSON.stringify(decoded) + " != " + JSON.stringify(expected));
}

export function checkFrames(Codec, schema, frames) {
  const codec = new Codec(schema);
  const failures = [];
  for (const f of frames) {
    const value = revive(f.value);
    try {
      const hex = bytesToHex(codec.encode(f.type, value));
      if (hex !== f.hex) failures.push(f.name + ": encoded " + hex + ", prost gives " + f.hex);
      const problems = [];
      match(codec.decode(f.type, hexToBytes(f.hex)), value, f.name, problems);
      failures.push(...problems);
    } catch (e) {
      failures.push(f.name + ": threw " + e);
    }
  }
  // A truncated length-delimited field is an error, not a silently shorter message.
  try {
    const audio = frames.find((f) => f.name === "client_audio");
    codec.decode(audio.type, hexToBytes(audio.hex).slice(0, -2));
    failures.push("a truncated frame decoded without an error");
  } catch {}
  return failures;
}
