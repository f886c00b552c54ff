//! The Python harness: `from typing import *`, the candidate's code, then a loop over the embedded tests. A
//! LeetCode-style `class Solution` with the method is accepted as well as a plain function.

use super::{Spec, camel, string_literal, tests_json};
use crate::catalog::{Problem, ValueType};

pub fn program(spec: &Spec, source: &str) -> String {
    format!(
        r#"from typing import *
{source}

def _rh_main():
    import json, time, traceback
    mark = {mark}
    tests = json.loads({tests})
    fn = globals().get({name})
    if fn is None and "Solution" in globals():
        sol = globals()["Solution"]()
        fn = getattr(sol, {name}, None) or getattr(sol, {camel}, None)
    if not callable(fn):
        print(mark, "FATAL", json.dumps("define a function named " + {name}), flush=True)
        return
    for idx, args in tests:
        print(mark, "START", idx, flush=True)
        t0 = time.perf_counter()
        try:
            result = fn(*args)
        except BaseException as e:
            us = int((time.perf_counter() - t0) * 1e6)
            lines = traceback.format_exception_only(type(e), e)
            print(mark, "ERROR", idx, us, json.dumps(lines[-1].strip() if lines else type(e).__name__), flush=True)
            continue
        us = int((time.perf_counter() - t0) * 1e6)
        try:
            text = json.dumps(result, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError):
            print(mark, "ERROR", idx, us, json.dumps("returned a " + type(result).__name__ + ", which is not a JSON value"), flush=True)
            continue
        print(mark, "RESULT", idx, us, text, flush=True)

_rh_main()
"#,
        mark = string_literal(&spec.marker),
        tests = string_literal(&tests_json(spec)),
        name = string_literal(spec.function),
        camel = string_literal(&camel(spec.function)),
    )
}

fn hint(ty: ValueType) -> &'static str {
    match ty {
        ValueType::Int | ValueType::Long => "int",
        ValueType::Double => "float",
        ValueType::Bool => "bool",
        ValueType::Str => "str",
        ValueType::IntArray => "List[int]",
        ValueType::DoubleArray => "List[float]",
        ValueType::StrArray => "List[str]",
        ValueType::IntMatrix => "List[List[int]]",
    }
}

pub fn starter(p: &Problem) -> String {
    let params: Vec<String> = p
        .params
        .iter()
        .map(|x| format!("{}: {}", x.name, hint(x.ty)))
        .collect();
    format!(
        "def {}({}) -> {}:\n    pass\n",
        p.function,
        params.join(", "),
        hint(p.returns)
    )
}
