// A small Markdown renderer for problem statements and design prompts: paragraphs, `-`/`*` lists, `#` headings,
// fenced code blocks, and inline `code` and **bold**. It builds DOM nodes with textContent only, so the text can
// never inject markup.

function inline(parent, text) {
  for (const part of text.split(/(`[^`]+`|\*\*[^*]+\*\*)/)) {
    if (!part) continue;
    let el;
    if (part.startsWith("`") && part.endsWith("`") && part.length > 1) {
      el = document.createElement("code");
      el.textContent = part.slice(1, -1);
    } else if (part.startsWith("**") && part.endsWith("**") && part.length > 3) {
      // Bold may hold inline code (`**every `"get"`, in order**`): its text is rendered inline too.
      el = document.createElement("strong");
      inline(el, part.slice(2, -2));
    } else {
      el = document.createTextNode(part);
    }
    parent.appendChild(el);
  }
}

export function renderMarkdown(target, text) {
  target.replaceChildren();
  const lines = String(text).split("\n");
  let para = [];
  let list = null;
  const flush = () => {
    if (para.length) {
      const p = document.createElement("p");
      inline(p, para.join(" "));
      target.appendChild(p);
      para = [];
    }
    list = null;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const trimmed = line.trim();
    if (trimmed.startsWith("```")) {
      flush();
      const code = [];
      for (i++; i < lines.length && !lines[i].trim().startsWith("```"); i++) code.push(lines[i]);
      const pre = document.createElement("pre");
      const c = document.createElement("code");
      c.textContent = code.join("\n");
      pre.appendChild(c);
      target.appendChild(pre);
    } else if (!trimmed) {
      flush();
    } else if (/^[-*] /.test(trimmed)) {
      if (para.length) flush();
      if (!list) {
        list = document.createElement("ul");
        target.appendChild(list);
      }
      const li = document.createElement("li");
      inline(li, trimmed.slice(2));
      list.appendChild(li);
    } else if (/^#{1,6} /.test(trimmed)) {
      flush();
      const h = document.createElement("h3");
      inline(h, trimmed.replace(/^#+ /, ""));
      target.appendChild(h);
    } else {
      list = null;
      para.push(trimmed);
    }
  }
  flush();
}
