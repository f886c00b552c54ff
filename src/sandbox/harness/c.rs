//! The C harness: the LeetCode calling convention (see `seeds/README.md`), one translation unit holding the
//! candidate's code (with `#line` so compiler messages point at their own lines) and a `main` that builds each
//! test's arguments as static C data, calls the function and prints the result as JSON.

use std::fmt::Write;

use serde_json::Value;

use super::{Spec, camel};
use crate::catalog::{Problem, ValueType};

const PRELUDE: &str = "#define _POSIX_C_SOURCE 200809L\n#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#include <stdbool.h>\n#include <limits.h>\n";

const HELPERS: &str = r#"
#include <time.h>
static long long rh_now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000; }
static void rh_str(const char* s) {
    if (!s) { fputs("null", stdout); return; }
    putchar('"');
    for (const unsigned char* p = (const unsigned char*)s; *p; p++) {
        if (*p == '"' || *p == '\\') { putchar('\\'); putchar(*p); }
        else if (*p < 0x20) printf("\\u%04x", *p);
        else putchar(*p);
    }
    putchar('"');
}
static void rh_double(double d) {
    if (d != d || d > 1.7976931348623157e308 || d < -1.7976931348623157e308) fputs("null", stdout);
    else printf("%.17g", d);
}
static long rh_micros(long long t0) { return (long)(rh_now() - t0); }
"#;

pub fn program(spec: &Spec, source: &str) -> String {
    let mut out = String::with_capacity(source.len() + 4096);
    out.push_str(PRELUDE);
    out.push_str("#line 1 \"solution.c\"\n");
    out.push_str(source);
    out.push_str("\n#line 1 \"harness.c\"\n");
    out.push_str(HELPERS);
    writeln!(
        out,
        "static const char RH_MARK[] = {};",
        c_string(&spec.marker)
    )
    .unwrap();
    out.push_str("int main(void) {\n");
    let function = camel(spec.function);
    for (idx, args) in &spec.tests {
        test_case(&mut out, spec, &function, *idx, args);
    }
    out.push_str("  return 0;\n}\n");
    out
}

/// Writes the block that runs test `idx`: declares its arguments, calls the function between the START and RESULT
/// marks and prints the result.
fn test_case(out: &mut String, spec: &Spec, function: &str, idx: usize, args: &[Value]) {
    out.push_str("  {\n");
    let mut call_args = Vec::new();
    for (j, (param, arg)) in spec.params.iter().zip(args.iter()).enumerate() {
        call_args.push(declare(out, &format!("rh_a{j}"), param.ty, arg));
    }
    writeln!(
        out,
        "    printf(\"%s START {idx}\\n\", RH_MARK); fflush(stdout);"
    )
    .unwrap();
    out.push_str("    long long rh_t0 = rh_now();\n");
    let print = call_result(out, spec.returns, function, &call_args);
    out.push_str("    long rh_us = rh_micros(rh_t0);\n");
    writeln!(out, "    printf(\"%s RESULT {idx} %ld \", RH_MARK, rh_us);").unwrap();
    writeln!(out, "    {print}").unwrap();
    out.push_str("    putchar('\\n'); fflush(stdout);\n  }\n");
}

/// Writes the call of `function` with `call_args` into `rh_r` (arrays' lengths into `rh_rs`, a matrix's row
/// lengths into `rh_rcs`) and returns the statement that prints the result as JSON.
fn call_result(
    out: &mut String,
    returns: ValueType,
    function: &str,
    call_args: &[String],
) -> String {
    let call = |extra: &str| format!("{function}({}{extra})", call_args.join(", "));
    let sep = if call_args.is_empty() { "" } else { ", " };
    match returns {
        ValueType::Int => scalar(out, "int", &call(""), "printf(\"%d\", rh_r);"),
        ValueType::Long => scalar(out, "long long", &call(""), "printf(\"%lld\", rh_r);"),
        ValueType::Double => scalar(out, "double", &call(""), "rh_double(rh_r);"),
        ValueType::Bool => scalar(
            out,
            "bool",
            &call(""),
            "fputs(rh_r ? \"true\" : \"false\", stdout);",
        ),
        ValueType::Str => scalar(out, "char*", &call(""), "rh_str(rh_r);"),
        ValueType::IntArray => array(
            out,
            "int*",
            &call(&format!("{sep}&rh_rs")),
            "printf(\"%d\", rh_r[i]);",
        ),
        ValueType::DoubleArray => array(
            out,
            "double*",
            &call(&format!("{sep}&rh_rs")),
            "rh_double(rh_r[i]);",
        ),
        ValueType::StrArray => array(
            out,
            "char**",
            &call(&format!("{sep}&rh_rs")),
            "rh_str(rh_r[i]);",
        ),
        ValueType::IntMatrix => {
            writeln!(out, "    int rh_rs = 0; int* rh_rcs = NULL;").unwrap();
            writeln!(
                out,
                "    int** rh_r = {};",
                call(&format!("{sep}&rh_rs, &rh_rcs"))
            )
            .unwrap();
            "if (!rh_r && rh_rs > 0) fputs(\"null\", stdout); else { putchar('['); \
             for (int i = 0; i < rh_rs; i++) { if (i) putchar(','); \
             if (!rh_rcs || !rh_r[i]) { fputs(\"null\", stdout); continue; } putchar('['); \
             for (int j = 0; j < rh_rcs[i]; j++) { if (j) putchar(','); printf(\"%d\", rh_r[i][j]); } \
             putchar(']'); } putchar(']'); }"
                .to_string()
        }
    }
}

fn scalar(out: &mut String, ctype: &str, call: &str, print: &str) -> String {
    writeln!(out, "    {ctype} rh_r = {call};").unwrap();
    print.to_string()
}

fn array(out: &mut String, ctype: &str, call: &str, print_item: &str) -> String {
    writeln!(out, "    int rh_rs = 0;").unwrap();
    writeln!(out, "    {ctype} rh_r = {call};").unwrap();
    format!(
        "if (!rh_r && rh_rs > 0) fputs(\"null\", stdout); else {{ putchar('['); \
         for (int i = 0; i < rh_rs; i++) {{ if (i) putchar(','); {print_item} }} putchar(']'); }}"
    )
}

/// Declares the argument `name` from `value` and returns what to pass for it.
fn declare(out: &mut String, name: &str, ty: ValueType, value: &Value) -> String {
    let items = || value.as_array().map(Vec::as_slice).unwrap_or(&[]);
    match ty {
        ValueType::Int => {
            writeln!(out, "    int {name} = {};", int_literal(value)).unwrap();
            name.to_string()
        }
        ValueType::Long => {
            writeln!(
                out,
                "    long long {name} = {}LL;",
                value.as_i64().unwrap_or(0)
            )
            .unwrap();
            name.to_string()
        }
        ValueType::Double => {
            writeln!(out, "    double {name} = {};", double_literal(value)).unwrap();
            name.to_string()
        }
        ValueType::Bool => {
            writeln!(
                out,
                "    bool {name} = {};",
                value.as_bool().unwrap_or(false)
            )
            .unwrap();
            name.to_string()
        }
        ValueType::Str => {
            writeln!(
                out,
                "    static char {name}[] = {};",
                c_string(value.as_str().unwrap_or(""))
            )
            .unwrap();
            name.to_string()
        }
        ValueType::IntArray => {
            static_array(out, "int", name, items().iter().map(int_literal));
            format!("{name}, {}", items().len())
        }
        ValueType::DoubleArray => {
            static_array(out, "double", name, items().iter().map(double_literal));
            format!("{name}, {}", items().len())
        }
        ValueType::StrArray => {
            let mut parts = Vec::new();
            for (k, s) in items().iter().enumerate() {
                writeln!(
                    out,
                    "    static char {name}_{k}[] = {};",
                    c_string(s.as_str().unwrap_or(""))
                )
                .unwrap();
                parts.push(format!("{name}_{k}"));
            }
            static_array(out, "char*", name, parts.into_iter());
            format!("{name}, {}", items().len())
        }
        ValueType::IntMatrix => {
            let mut rows = Vec::new();
            let mut cols = Vec::new();
            for (k, row) in items().iter().enumerate() {
                let cells = row.as_array().map(Vec::as_slice).unwrap_or(&[]);
                static_array(
                    out,
                    "int",
                    &format!("{name}_{k}"),
                    cells.iter().map(int_literal),
                );
                rows.push(format!("{name}_{k}"));
                cols.push(cells.len().to_string());
            }
            static_array(out, "int*", name, rows.into_iter());
            static_array(out, "int", &format!("{name}_cols"), cols.into_iter());
            format!("{name}, {}, {name}_cols", items().len())
        }
    }
}

/// A static array; an empty one still gets one element, since C has no zero-length arrays.
fn static_array(out: &mut String, ctype: &str, name: &str, items: impl Iterator<Item = String>) {
    let items: Vec<String> = items.collect();
    if items.is_empty() {
        writeln!(out, "    static {ctype} {name}[1];").unwrap();
    } else {
        writeln!(
            out,
            "    static {ctype} {name}[] = {{{}}};",
            items.join(",")
        )
        .unwrap();
    }
}

fn int_literal(v: &Value) -> String {
    match v.as_i64().unwrap_or(0) {
        n if n == i64::from(i32::MIN) => "(-2147483647-1)".into(),
        n => n.to_string(),
    }
}

fn double_literal(v: &Value) -> String {
    let d = v.as_f64().unwrap_or(0.0);
    let s = format!("{d:?}");
    if s.contains(['.', 'e', 'E']) {
        s
    } else {
        format!("{s}.0")
    }
}

/// A C string literal; bytes outside printable ASCII (and `?`, against trigraphs) as three-digit octal escapes.
fn c_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for b in s.bytes() {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'?' => out.push_str("\\?"),
            0x20..=0x7e => out.push(b as char),
            _ => write!(out, "\\{b:03o}").unwrap(),
        }
    }
    out.push('"');
    out
}

fn param_decl(name: &str, ty: ValueType) -> String {
    let n = camel(name);
    match ty {
        ValueType::Int => format!("int {n}"),
        ValueType::Long => format!("long long {n}"),
        ValueType::Double => format!("double {n}"),
        ValueType::Bool => format!("bool {n}"),
        ValueType::Str => format!("char* {n}"),
        ValueType::IntArray => format!("int* {n}, int {n}Size"),
        ValueType::DoubleArray => format!("double* {n}, int {n}Size"),
        ValueType::StrArray => format!("char** {n}, int {n}Size"),
        ValueType::IntMatrix => format!("int** {n}, int {n}Size, int* {n}ColSize"),
    }
}

pub fn starter(p: &Problem) -> String {
    let mut params: Vec<String> = p.params.iter().map(|x| param_decl(&x.name, x.ty)).collect();
    let (ret, note) = match p.returns {
        ValueType::Int => ("int", ""),
        ValueType::Long => ("long long", ""),
        ValueType::Double => ("double", ""),
        ValueType::Bool => ("bool", ""),
        ValueType::Str => ("char*", "/* Return a malloc'd or static string. */\n"),
        ValueType::IntArray | ValueType::DoubleArray | ValueType::StrArray => {
            params.push("int* returnSize".into());
            let t = match p.returns {
                ValueType::IntArray => "int*",
                ValueType::DoubleArray => "double*",
                _ => "char**",
            };
            (
                t,
                "/* Return a malloc'd array and set *returnSize to its length. */\n",
            )
        }
        ValueType::IntMatrix => {
            params.push("int* returnSize".into());
            params.push("int** returnColumnSizes".into());
            (
                "int**",
                "/* Return a malloc'd array of rows; set *returnSize and a malloc'd *returnColumnSizes. */\n",
            )
        }
    };
    format!(
        "{note}{ret} {}({}) {{\n\n}}\n",
        camel(&p.function),
        params.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_strings_escape_quotes_trigraphs_and_non_ascii() {
        assert_eq!(c_string("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(c_string("??="), r#""\?\?=""#);
        assert_eq!(c_string("é\n"), r#""\303\251\012""#);
    }

    #[test]
    fn the_smallest_int_is_written_without_overflow() {
        assert_eq!(int_literal(&Value::from(i32::MIN)), "(-2147483647-1)");
        assert_eq!(double_literal(&Value::from(2.0)), "2.0");
        assert_eq!(double_literal(&Value::from(1e-7)), "1e-7");
    }
}
