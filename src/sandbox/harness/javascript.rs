//! The JavaScript harness: the candidate's script, then a loop over the embedded tests. It runs unchanged under
//! QuickJS (the sandbox) and Node (the seed checks): it only uses `console.log`, `JSON` and `Date`.

use super::{Spec, camel, string_literal, tests_json};
use crate::catalog::{Problem, ValueType};

pub fn program(spec: &Spec, source: &str) -> String {
    let name = camel(spec.function);
    format!(
        r#"{source}
;(function () {{
  const mark = {mark};
  const tests = JSON.parse({tests});
  const now = typeof performance !== "undefined" ? () => performance.now() : () => Date.now();
  const fn = typeof {name} === "function" ? {name} : null;
  if (!fn) {{
    console.log(mark + " FATAL " + JSON.stringify("define a function named {name}"));
    return;
  }}
  for (const [idx, args] of tests) {{
    console.log(mark + " START " + idx);
    const t0 = now();
    let result;
    try {{
      result = fn(...args);
    }} catch (e) {{
      const us = Math.round((now() - t0) * 1000);
      const msg = e instanceof Error ? e.name + ": " + e.message : "threw " + String(e);
      console.log(mark + " ERROR " + idx + " " + us + " " + JSON.stringify(msg));
      continue;
    }}
    const us = Math.round((now() - t0) * 1000);
    let text;
    try {{
      text = JSON.stringify(result === undefined ? null : result);
    }} catch (e) {{
      text = undefined;
    }}
    if (text === undefined) {{
      console.log(mark + " ERROR " + idx + " " + us + " " + JSON.stringify("returned a value that is not JSON"));
      continue;
    }}
    console.log(mark + " RESULT " + idx + " " + us + " " + text);
  }}
}})();
"#,
        mark = string_literal(&spec.marker),
        tests = string_literal(&tests_json(spec)),
    )
}

fn doc_type(ty: ValueType) -> &'static str {
    match ty {
        ValueType::Int | ValueType::Long | ValueType::Double => "number",
        ValueType::Bool => "boolean",
        ValueType::Str => "string",
        ValueType::IntArray | ValueType::DoubleArray => "number[]",
        ValueType::StrArray => "string[]",
        ValueType::IntMatrix => "number[][]",
    }
}

pub fn starter(p: &Problem) -> String {
    let mut out = String::from("/**\n");
    for param in &p.params {
        out.push_str(&format!(
            " * @param {{{}}} {}\n",
            doc_type(param.ty),
            camel(&param.name)
        ));
    }
    out.push_str(&format!(" * @return {{{}}}\n */\n", doc_type(p.returns)));
    let names: Vec<String> = p.params.iter().map(|x| camel(&x.name)).collect();
    out.push_str(&format!(
        "function {}({}) {{\n\n}}\n",
        camel(&p.function),
        names.join(", ")
    ));
    out
}
