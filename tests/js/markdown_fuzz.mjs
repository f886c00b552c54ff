// Fuzzes the browser's Markdown renderer (static/js/markdown.js) in Node with a minimal DOM: random text built from
// Markdown's own pieces (fences, lists, headings, backticks, bold, HTML, entities, long runs) must render without
// an exception, within a time bound, into only the elements the renderer promises (p, ul, li, h3, pre, code,
// strong and text), and without losing text: the letters and digits of the output are those of the input, in order,
// less a code fence's opening and closing lines. Usage: node markdown_fuzz.mjs SECONDS SEED.

import { renderMarkdown } from "../../static/js/markdown.js";

const ALLOWED = new Set(["p", "ul", "li", "h3", "pre", "code", "strong"]);

class Node_ {
  constructor(tag, text) {
    this.tag = tag;
    this.text = text ?? "";
    this.children = [];
  }
  appendChild(c) {
    this.children.push(c);
    return c;
  }
  replaceChildren() {
    this.children = [];
  }
  set textContent(t) {
    this.children = [];
    this.text = String(t);
  }
  get textContent() {
    return this.text + this.children.map((c) => c.textContent).join("");
  }
}

globalThis.document = {
  createElement: (tag) => new Node_(tag),
  createTextNode: (text) => new Node_("#text", text),
};

function tags(node, out = []) {
  for (const c of node.children) {
    out.push(c.tag);
    tags(c, out);
  }
  return out;
}

// A small seeded generator (mulberry32), so a failure can be repeated.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = [
  "```", "```python", "`", "``", "**", "*", "* ", "- ", "# ", "###### ", "####### ", "\n", "\n\n", "  ", "\t",
  "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "&lt;", "&amp;", "[link](javascript:alert(1))",
  "\\", "\r\n", "\u0000", "\u202e", "😀", "é", "word", "Design a URL shortener", "p99", "1. ", "> ", "|", "---",
];

function randomText(next) {
  const parts = [];
  const n = Math.floor(next() * 60);
  for (let i = 0; i < n; i++) {
    const r = next();
    if (r < 0.7) parts.push(PIECES[Math.floor(next() * PIECES.length)]);
    else if (r < 0.9) parts.push(String.fromCharCode(32 + Math.floor(next() * 95)));
    else parts.push(PIECES[Math.floor(next() * PIECES.length)].repeat(1 + Math.floor(next() * 200)));
  }
  return parts.join("");
}

const alnum = (s) => (s.match(/[\p{L}\p{N}]/gu) ?? []).join("");

// The input's letters and digits that the renderer must keep: a fence line (opening or closing) is markup.
function kept(text) {
  return alnum(
    String(text)
      .split("\n")
      .filter((line) => !line.trim().startsWith("```"))
      .join("\n"),
  );
}

const [seconds, seed] = [Number(process.argv[2] ?? 3), Number(process.argv[3] ?? Date.now() % 2 ** 31)];
const next = rng(seed);
const started = Date.now();
let inputs = 0;
let slowest = 0;
while (Date.now() - started < seconds * 1000) {
  const text = randomText(next);
  const target = new Node_("div");
  const t0 = performance.now();
  try {
    renderMarkdown(target, text);
  } catch (e) {
    console.log(`FAIL seed ${seed} input ${inputs}: ${e}\n${JSON.stringify(text)}`);
    process.exit(1);
  }
  const took = performance.now() - t0;
  slowest = Math.max(slowest, took);
  const bad = tags(target).filter((t) => t !== "#text" && !ALLOWED.has(t));
  if (bad.length) {
    console.log(`FAIL seed ${seed} input ${inputs}: elements ${bad}\n${JSON.stringify(text)}`);
    process.exit(1);
  }
  if (alnum(target.textContent) !== kept(text)) {
    console.log(`FAIL seed ${seed} input ${inputs}: text lost or added\n${JSON.stringify(text)}`);
    process.exit(1);
  }
  if (took > 250) {
    console.log(`FAIL seed ${seed} input ${inputs}: ${took.toFixed(0)} ms for ${text.length} characters`);
    process.exit(1);
  }
  inputs++;
}
console.log(`markdown fuzz: ${inputs} inputs in ${seconds} s, slowest ${slowest.toFixed(1)} ms, 0 failed (seed ${seed})`);
