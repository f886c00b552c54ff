// A small protobuf codec for the realtime channel, driven by the schema that build.rs derives from
// proto/rehearse/v1/realtime.proto (served as /static/js/realtime-schema.js). No code generation and no eval, so
// it works under a strict Content-Security-Policy; the .proto file stays the one source of truth.
//
// Messages are plain objects keyed by the proto's JSON names (camelCase). Enums are their value names
// ("LANGUAGE_PYTHON"); 64-bit integers are Numbers (exact below 2^53, which covers every id and timestamp here);
// bytes are Uint8Array; maps are plain objects. Decoding fills proto3 defaults for scalars and repeated fields and
// leaves unset messages and oneof members undefined. Encoding writes fields in field-number order, skipping proto3
// defaults outside oneofs, so its bytes equal prost's.

const WIRE = { varint: 0, i64: 1, len: 2, i32: 5 };
const VARINT = new Set(["int32", "int64", "uint32", "uint64", "sint32", "sint64", "bool", "enum"]);
const I64 = new Set(["double", "fixed64", "sfixed64"]);
const I32 = new Set(["float", "fixed32", "sfixed32"]);
const utf8 = { enc: new TextEncoder(), dec: new TextDecoder("utf-8", { fatal: false }) };

export class Codec {
  constructor(schema) {
    this.schema = schema;
    this.byNumber = {};
    for (const [name, msg] of Object.entries(schema.messages)) {
      const m = new Map();
      for (const f of msg.fields) m.set(f.number, f);
      this.byNumber[name] = m;
    }
  }

  encode(type, obj) {
    const w = new Writer();
    this.#writeMessage(w, type, obj);
    return w.finish();
  }

  decode(type, bytes) {
    return this.#readMessage(new Reader(bytes), type, bytes.length);
  }

  #msg(type) {
    const m = this.schema.messages[type];
    if (!m) throw new Error("unknown message type " + type);
    return m;
  }

  #writeMessage(w, type, obj) {
    const fields = [...this.#msg(type).fields].sort((a, b) => a.number - b.number);
    for (const f of fields) {
      const v = obj[f.name];
      if (v === undefined || v === null) continue;
      const entry = f.type === "message" ? this.schema.messages[f.ref] : null;
      if (entry && entry.mapEntry) {
        const [kf, vf] = entry.fields;
        for (const [k, val] of Object.entries(v)) {
          const sub = new Writer();
          this.#writeField(sub, kf, kf.type === "string" ? k : Number(k), true);
          this.#writeField(sub, vf, val, true);
          w.tag(f.number, WIRE.len);
          w.bytes(sub.finish());
        }
      } else if (f.repeated) {
        if (VARINT.has(f.type) || I64.has(f.type) || I32.has(f.type)) {
          if (v.length === 0) continue;
          const sub = new Writer();
          for (const x of v) this.#writeScalar(sub, f, x);
          w.tag(f.number, WIRE.len);
          w.bytes(sub.finish());
        } else {
          for (const x of v) this.#writeField(w, f, x, true);
        }
      } else {
        this.#writeField(w, f, v, f.oneof != null);
      }
    }
  }

  #writeField(w, f, v, always) {
    if (!always && isDefault(f, v)) return;
    if (f.type === "message") {
      const sub = new Writer();
      this.#writeMessage(sub, f.ref, v);
      w.tag(f.number, WIRE.len);
      w.bytes(sub.finish());
    } else if (f.type === "string") {
      w.tag(f.number, WIRE.len);
      w.bytes(utf8.enc.encode(v));
    } else if (f.type === "bytes") {
      w.tag(f.number, WIRE.len);
      w.bytes(v);
    } else {
      w.tag(f.number, VARINT.has(f.type) ? WIRE.varint : I64.has(f.type) ? WIRE.i64 : WIRE.i32);
      this.#writeScalar(w, f, v);
    }
  }

  #writeScalar(w, f, v) {
    switch (f.type) {
      case "bool": return w.varint(v ? 1 : 0);
      case "enum": return w.signedVarint(typeof v === "number" ? v : this.#enumNumber(f.ref, v));
      case "int32": case "int64": return w.signedVarint(v);
      case "uint32": case "uint64": return w.varint(v);
      case "sint32": case "sint64": return w.signedVarint(v >= 0 ? v * 2 : -v * 2 - 1);
      case "double": return w.f64(v);
      case "float": return w.f32(v);
      case "fixed32": return w.u32(v);
      case "sfixed32": return w.u32(v >>> 0);
      case "fixed64": case "sfixed64": return w.u64(v);
      default: throw new Error("cannot encode " + f.type);
    }
  }

  #enumNumber(ref, name) {
    const e = this.schema.enums[ref];
    if (!e || !(name in e)) throw new Error("unknown value " + name + " of enum " + ref);
    return e[name];
  }

  #enumName(ref, n) {
    const e = this.schema.enums[ref] || {};
    for (const [k, v] of Object.entries(e)) if (v === n) return k;
    return n; // an unknown value from a newer peer stays a number
  }

  #readMessage(r, type, end) {
    const msg = this.#msg(type);
    const out = {};
    for (const f of msg.fields) {
      if (f.oneof != null || (f.type === "message" && !f.repeated)) continue;
      const entry = f.type === "message" ? this.schema.messages[f.ref] : null;
      if (entry && entry.mapEntry) out[f.name] = {};
      else if (f.repeated) out[f.name] = [];
      else out[f.name] = defaultOf(f, this);
    }
    const fields = this.byNumber[type];
    while (r.pos < end) {
      const key = r.varint();
      const number = Math.floor(key / 8);
      const wire = key & 7;
      const f = fields.get(number);
      if (!f) { r.skip(wire); continue; }
      const entry = f.type === "message" ? this.schema.messages[f.ref] : null;
      if (entry && entry.mapEntry) {
        const len = r.varint();
        const e = this.#readMessage(r, f.ref, r.pos + len);
        out[f.name][e[entry.fields[0].name]] = e[entry.fields[1].name];
      } else if (f.repeated && wire === WIRE.len && f.type !== "message" && f.type !== "string" && f.type !== "bytes") {
        const stop = r.pos + r.varint();
        while (r.pos < stop) out[f.name].push(this.#readScalar(r, f));
      } else {
        const v = this.#readValue(r, f);
        if (f.repeated) out[f.name].push(v);
        else out[f.name] = v;
        if (f.oneof != null) {
          for (const g of msg.fields) if (g.oneof === f.oneof && g !== f) delete out[g.name];
        }
      }
    }
    return out;
  }

  #readValue(r, f) {
    if (f.type === "message") {
      const len = r.varint();
      return this.#readMessage(r, f.ref, r.pos + len);
    }
    if (f.type === "string") return utf8.dec.decode(r.bytes(r.varint()));
    if (f.type === "bytes") return r.bytes(r.varint()).slice();
    return this.#readScalar(r, f);
  }

  #readScalar(r, f) {
    switch (f.type) {
      case "bool": return r.varint() !== 0;
      case "enum": return this.#enumName(f.ref, r.signedVarint32());
      case "int32": return r.signedVarint32();
      case "int64": return r.signedVarint64();
      case "uint32": return r.varint() >>> 0;
      case "uint64": return r.varint();
      case "sint32": case "sint64": { const n = r.varint(); return n % 2 === 0 ? n / 2 : -(n + 1) / 2; }
      case "double": return r.f64();
      case "float": return r.f32();
      case "fixed32": return r.u32();
      case "sfixed32": return r.u32() | 0;
      case "fixed64": case "sfixed64": return r.u64();
      default: throw new Error("cannot decode " + f.type);
    }
  }
}

function isDefault(f, v) {
  if (f.type === "message") return false;
  if (f.type === "string") return v === "";
  if (f.type === "bytes") return v.length === 0;
  if (f.type === "bool") return v === false;
  if (f.type === "enum") return v === 0 || (typeof v === "string" && /_UNSPECIFIED$/.test(v));
  return v === 0;
}

function defaultOf(f, codec) {
  if (f.type === "string") return "";
  if (f.type === "bytes") return new Uint8Array(0);
  if (f.type === "bool") return false;
  if (f.type === "enum") {
    const e = codec.schema.enums[f.ref] || {};
    return Object.keys(e).find((k) => e[k] === 0) ?? 0;
  }
  return 0;
}

class Writer {
  constructor() { this.buf = new Uint8Array(64); this.len = 0; }
  #room(n) {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  byte(b) { this.#room(1); this.buf[this.len++] = b; }
  tag(number, wire) { this.varint(number * 8 + wire); }
  // Non-negative integers up to 2^53.
  varint(n) {
    if (n < 0 || !Number.isFinite(n)) throw new Error("varint out of range: " + n);
    while (n >= 128) { this.byte((n % 128) | 128); n = Math.floor(n / 128); }
    this.byte(n);
  }
  // Negative int32/int64 are ten-byte two's complement varints.
  signedVarint(n) {
    if (n >= 0) return this.varint(n);
    let big = BigInt.asUintN(64, BigInt(n));
    while (big >= 128n) { this.byte(Number(big & 127n) | 128); big >>= 7n; }
    this.byte(Number(big));
  }
  bytes(b) { this.varint(b.length); this.#room(b.length); this.buf.set(b, this.len); this.len += b.length; }
  u32(n) { this.#room(4); new DataView(this.buf.buffer).setUint32(this.len, n, true); this.len += 4; }
  u64(n) { this.#room(8); new DataView(this.buf.buffer).setBigUint64(this.len, BigInt.asUintN(64, BigInt(n)), true); this.len += 8; }
  f32(n) { this.#room(4); new DataView(this.buf.buffer).setFloat32(this.len, n, true); this.len += 4; }
  f64(n) { this.#room(8); new DataView(this.buf.buffer).setFloat64(this.len, n, true); this.len += 8; }
  finish() { return this.buf.slice(0, this.len); }
}

class Reader {
  constructor(bytes) { this.buf = bytes; this.pos = 0; this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength); }
  #need(n) { if (this.pos + n > this.buf.length) throw new Error("truncated protobuf message"); }
  varint() {
    let result = 0, scale = 1;
    for (let i = 0; i < 10; i++) {
      this.#need(1);
      const b = this.buf[this.pos++];
      result += (b & 127) * scale;
      if (b < 128) return result;
      scale *= 128;
    }
    throw new Error("malformed varint");
  }
  #varintBig() {
    let result = 0n, shift = 0n;
    for (let i = 0; i < 10; i++) {
      this.#need(1);
      const b = this.buf[this.pos++];
      result |= BigInt(b & 127) << shift;
      if (b < 128) return result;
      shift += 7n;
    }
    throw new Error("malformed varint");
  }
  signedVarint32() { return Number(BigInt.asIntN(32, this.#varintBig())); }
  signedVarint64() { return Number(BigInt.asIntN(64, this.#varintBig())); }
  bytes(n) { this.#need(n); const b = this.buf.subarray(this.pos, this.pos + n); this.pos += n; return b; }
  u32() { this.#need(4); const v = this.view.getUint32(this.pos, true); this.pos += 4; return v; }
  u64() { this.#need(8); const v = this.view.getBigUint64(this.pos, true); this.pos += 8; return Number(v); }
  f32() { this.#need(4); const v = this.view.getFloat32(this.pos, true); this.pos += 4; return v; }
  f64() { this.#need(8); const v = this.view.getFloat64(this.pos, true); this.pos += 8; return v; }
  skip(wire) {
    if (wire === WIRE.varint) this.varint();
    else if (wire === WIRE.i64) this.bytes(8);
    else if (wire === WIRE.len) this.bytes(this.varint());
    else if (wire === WIRE.i32) this.bytes(4);
    else throw new Error("unsupported wire type " + wire);
  }
}
