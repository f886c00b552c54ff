// The code editor of coding rounds: the Monaco editor (served from this server, compiled into the binary), with
// the plain <textarea> as the fallback when Monaco cannot load. Either way the textarea holds the current code, so
// the rest of the page reads and writes one place.
const MONACO = "/static/monaco/vs";
const MONACO_LANG = { python: "python", javascript: "javascript", c: "c" };

function loadMonaco() {
  return new Promise((resolve, reject) => {
    if (window.monaco) return resolve(window.monaco);
    const script = document.createElement("script");
    script.src = `${MONACO}/loader.js`;
    script.onerror = () => reject(new Error("the editor could not be loaded"));
    script.onload = () => {
      window.require.config({ paths: { vs: MONACO } });
      window.require(["vs/editor/editor.main"], () => resolve(window.monaco), reject);
    };
    document.head.appendChild(script);
  });
}

// `textarea` keeps the code; `onInput` is called when the candidate changes it.
export function createEditor(textarea, onInput) {
  let editor = null;
  let silent = false;
  const api = {
    get value() {
      return editor ? editor.getValue() : textarea.value;
    },
    set value(v) {
      textarea.value = v;
      if (editor && editor.getValue() !== v) {
        silent = true;
        editor.setValue(v);
        silent = false;
      }
    },
    setLanguage(name) {
      if (editor) window.monaco.editor.setModelLanguage(editor.getModel(), MONACO_LANG[name] || "plaintext");
    },
    ready: null,
  };
  textarea.addEventListener("input", () => onInput());
  api.ready = loadMonaco()
    .then((monaco) => {
      const host = document.createElement("div");
      host.className = "monaco-host";
      host.id = "code-editor";
      textarea.after(host);
      textarea.hidden = true;
      editor = monaco.editor.create(host, {
        value: textarea.value,
        language: "python",
        theme: "vs-dark",
        automaticLayout: true,
        minimap: { enabled: false },
        fontSize: 14,
        tabSize: 4,
        scrollBeyondLastLine: false,
        // No suggestions from words elsewhere in the file: an interview, not an IDE.
        wordBasedSuggestions: "off",
      });
      editor.onDidChangeModelContent(() => {
        textarea.value = editor.getValue();
        if (!silent) onInput();
      });
      host.dataset.ready = "true";
      return true;
    })
    .catch((e) => {
      console.warn(`Monaco: ${e.message || e}; the plain editor stays`);
      return false;
    });
  return api;
}
