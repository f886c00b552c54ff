//! The layer check: every module of `src/` sits in one layer of the table in `ARCHITECTURE.md`, and no module
//! refers to one in a higher layer, through any path: `use` lines and their groups, `crate::` and `super::` paths in
//! code, bare paths through a child module, re-exports (a re-export is itself a reference). Modules in the same
//! layer may refer to each other only without a cycle. Comments and string literals are not references.
//!
//! The table is read from `ARCHITECTURE.md` itself, so the document and the check cannot drift apart.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

/// One row of the layer table: its rank (higher may use lower) and the module paths it holds.
#[derive(Debug)]
struct Layer {
    rank: u32,
    name: String,
    modules: Vec<String>,
}

/// Reads the rows `| rank | layer | `module`, `module::sub` | ... |` of the table in `ARCHITECTURE.md`.
fn layers(doc: &str) -> Vec<Layer> {
    doc.lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.trim().strip_prefix('|')?.split('|').collect();
            let rank = cells.first()?.trim().parse().ok()?;
            let modules = cells
                .get(2)?
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect();
            Some(Layer {
                rank,
                name: cells.get(1)?.trim().to_string(),
                modules,
            })
        })
        .collect()
}

/// The unit (the longest module path in the table that is a prefix of `path`) and its layer.
fn unit<'a>(layers: &'a [Layer], path: &[String]) -> Option<(&'a str, &'a Layer)> {
    let mut best: Option<(&str, &Layer, usize)> = None;
    for layer in layers {
        for m in &layer.modules {
            let segs: Vec<&str> = m.split("::").collect();
            if segs.len() <= path.len()
                && segs.iter().zip(path).all(|(a, b)| a == b)
                && best.is_none_or(|(_, _, n)| segs.len() > n)
            {
                best = Some((m, layer, segs.len()));
            }
        }
    }
    best.map(|(m, l, _)| (m, l))
}

/// Blanks comments, string and character literals (keeping line breaks), so only code remains.
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let blank = |out: &mut String, s: &[u8]| {
        for &c in s {
            out.push(if c == b'\n' { '\n' } else { ' ' });
        }
    };
    while i < b.len() {
        let rest = &b[i..];
        if rest.starts_with(b"//") {
            let end = rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
            blank(&mut out, &rest[..end]);
            i += end;
        } else if rest.starts_with(b"/*") {
            let (mut depth, mut j) = (0, 0);
            while j < rest.len() {
                if rest[j..].starts_with(b"/*") {
                    depth += 1;
                    j += 2;
                } else if rest[j..].starts_with(b"*/") {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            blank(&mut out, &rest[..j]);
            i += j;
        } else if let Some(hashes) = raw_string_start(rest) {
            let open = 2 + hashes + usize::from(rest[0] == b'b');
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            let end = rest[open..]
                .windows(close.len())
                .position(|w| w == close.as_slice())
                .map_or(rest.len(), |p| open + p + close.len());
            blank(&mut out, &rest[..end]);
            i += end;
        } else if rest[0] == b'"' || rest.starts_with(b"b\"") {
            let mut j = if rest[0] == b'"' { 1 } else { 2 };
            while j < rest.len() && rest[j] != b'"' {
                j += if rest[j] == b'\\' { 2 } else { 1 };
            }
            let end = (j + 1).min(rest.len());
            blank(&mut out, &rest[..end]);
            i += end;
        } else if rest[0] == b'\'' && char_literal_len(rest).is_some() {
            let n = char_literal_len(rest).unwrap_or(1);
            blank(&mut out, &rest[..n]);
            i += n;
        } else {
            let ch = src[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// `r"`, `r#"`, `br##"`, ...: the number of hashes, when `s` starts a raw string (and is not part of a name).
fn raw_string_start(s: &[u8]) -> Option<usize> {
    let s = s.strip_prefix(b"b").unwrap_or(s);
    let s = s.strip_prefix(b"r")?;
    let hashes = s.iter().take_while(|&&c| c == b'#').count();
    (s.get(hashes) == Some(&b'"')).then_some(hashes)
}

/// The length of a character literal at the start of `s` (`'a'`, `'\n'`, `'\u{1F600}'`), or `None` for a
/// lifetime or label.
fn char_literal_len(s: &[u8]) -> Option<usize> {
    if s.get(1) == Some(&b'\\') {
        let close = s.get(3..)?.iter().position(|&c| c == b'\'')?;
        return Some(close + 4);
    }
    let c = std::str::from_utf8(&s[1..s.len().min(6)])
        .or_else(|e| std::str::from_utf8(&s[1..1 + e.valid_up_to()]))
        .ok()?
        .chars()
        .next()?;
    (s.get(1 + c.len_utf8()) == Some(&b'\'')).then_some(2 + c.len_utf8())
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Colons,
    Open,
    Close,
    Comma,
    Semi,
    Other,
}

fn tokens(code: &str) -> Vec<Tok> {
    let chars: Vec<char> = code.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            // `r#ident`: a raw identifier.
            let word = word.strip_prefix("r#").unwrap_or(&word).to_string();
            toks.push(Tok::Ident(word));
            continue;
        }
        if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            toks.push(Tok::Other);
            continue;
        }
        i += 1;
        toks.push(match c {
            ':' if chars.get(i) == Some(&':') => {
                i += 1;
                Tok::Colons
            }
            '{' => Tok::Open,
            '}' => Tok::Close,
            ',' => Tok::Comma,
            ';' => Tok::Semi,
            c if c.is_whitespace() => continue,
            _ => Tok::Other,
        });
    }
    toks
}

/// Every module path a file refers to, with the module (the file's own, `here`, or an inline one in it) that
/// refers to it. `is_module(path)` says whether `path` names a module of the crate (for paths that start at a
/// child module).
type Reference = (Vec<String>, Vec<String>);

fn references(
    code: &str,
    here: &[String],
    is_module: &dyn Fn(&[String]) -> bool,
) -> Vec<Reference> {
    let toks = tokens(code);
    let mut found = Vec::new();
    // Inline modules (`mod tests { ... }`) open a module inside the file's: (name, brace depth at its opening).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            Tok::Open => depth += 1,
            Tok::Close => {
                depth = depth.saturating_sub(1);
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
            }
            Tok::Ident(w) if w == "mod" => {
                if let (Some(Tok::Ident(name)), Some(Tok::Open)) =
                    (toks.get(i + 1), toks.get(i + 2))
                {
                    inline.push((name.clone(), depth));
                    depth += 1;
                    i += 3;
                    continue;
                }
            }
            Tok::Ident(_) if i == 0 || toks[i - 1] != Tok::Colons => {
                let module: Vec<String> = here
                    .iter()
                    .cloned()
                    .chain(inline.iter().map(|(n, _)| n.clone()))
                    .collect();
                let mut paths = Vec::new();
                let next = path_tree(&toks, i, Vec::new(), &mut paths);
                for p in paths {
                    if let Some(resolved) = resolve(&p, &module, is_module) {
                        found.push((module.clone(), resolved));
                    }
                }
                i = next.max(i + 1);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    found
}

/// Reads a path (`a::b::c`, `a::{b, c::{d, e}}`) starting at token `i`; pushes each full path with at least one
/// `::` (or any path after `use`) onto `out`; returns the index after it.
fn path_tree(toks: &[Tok], mut i: usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
    let after_use = prefix.is_empty() && i > 0 && toks[i - 1] == Tok::Ident("use".into());
    let mut path = prefix;
    loop {
        match toks.get(i) {
            Some(Tok::Ident(w)) => {
                path.push(w.clone());
                i += 1;
            }
            Some(Tok::Open) if !path.is_empty() => {
                // A group: `{ tree, tree, ... }`.
                i += 1;
                loop {
                    match toks.get(i) {
                        Some(Tok::Close) => return i + 1,
                        Some(Tok::Comma) => i += 1,
                        Some(Tok::Ident(_)) => {
                            // Each subtree is a path under this one; `self` names the group's own path.
                            i = path_tree(toks, i, path.clone(), out);
                        }
                        None => return i,
                        _ => i += 1,
                    }
                }
            }
            _ => break,
        }
        if toks.get(i) == Some(&Tok::Colons) {
            i += 1;
        } else {
            break;
        }
    }
    if path.len() >= 2 || after_use {
        out.push(path);
    }
    i
}

/// A path as written in module `here` -> the module path it names, or `None` when it leads outside the crate.
fn resolve(
    path: &[String],
    here: &[String],
    is_module: &dyn Fn(&[String]) -> bool,
) -> Option<Vec<String>> {
    let mut at: Vec<String>;
    let mut rest = path;
    match path.first()?.as_str() {
        "crate" => {
            at = Vec::new();
            rest = &path[1..];
        }
        "self" => {
            at = here.to_vec();
            rest = &path[1..];
        }
        "super" => {
            at = here.to_vec();
            while rest.first().is_some_and(|s| s == "super") {
                at.pop()?;
                rest = &rest[1..];
            }
        }
        first => {
            let child: Vec<String> = here.iter().cloned().chain([first.to_string()]).collect();
            if !is_module(&child) {
                return None;
            }
            at = here.to_vec();
        }
    }
    at.extend(rest.iter().filter(|s| *s != "self").cloned());
    Some(at)
}

/// A file's module path: `src/a/b.rs` and `src/a/b/mod.rs` are `a::b`; `lib.rs` and `main.rs` are the root.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("under src");
    let mut segs: Vec<String> = rel
        .iter()
        .map(|s| s.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if matches!(
        segs.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        segs.pop();
    }
    segs
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// What the check found: references to a higher layer, and cycles between units of one layer.
#[derive(Debug, Default)]
struct Findings {
    upward: BTreeSet<String>,
    cycles: Vec<Vec<String>>,
    unplaced: BTreeSet<String>,
}

fn check(files: &[(Vec<String>, String)], layers: &[Layer]) -> Findings {
    let modules: BTreeSet<Vec<String>> = files.iter().map(|(m, _)| m.clone()).collect();
    let mut findings = Findings::default();
    let mut same_layer: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, src) in files {
        if module.is_empty() {
            continue; // lib.rs and main.rs: the crate root, above every layer.
        }
        let Some((from, from_layer)) = unit(layers, module) else {
            findings.unplaced.insert(module.join("::"));
            continue;
        };
        let is_module = |p: &[String]| modules.contains(p);
        for (module, target) in references(&code_only(src), module, &is_module) {
            let Some((to, to_layer)) = unit(layers, &target) else {
                continue;
            };
            if to == from {
                continue;
            }
            if to_layer.rank > from_layer.rank {
                findings.upward.insert(format!(
                    "{} ({from}, layer {} {}) -> {} ({to}, layer {} {})",
                    module.join("::"),
                    from_layer.rank,
                    from_layer.name,
                    target.join("::"),
                    to_layer.rank,
                    to_layer.name,
                ));
            } else if to_layer.rank == from_layer.rank {
                same_layer
                    .entry(from.to_string())
                    .or_default()
                    .insert(to.to_string());
            }
        }
    }
    findings.cycles = cycles(&same_layer);
    findings
}

/// The cycles of a directed graph, each once (depth-first search from every node in order).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        found: &mut Vec<Vec<String>>,
    ) {
        if let Some(at) = stack.iter().position(|n| n == node) {
            found.push(stack[at..].to_vec());
            return;
        }
        if done.contains(node) {
            return;
        }
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            visit(next, graph, stack, done, found);
        }
        stack.pop();
        done.insert(node.to_string());
    }
    let mut found = Vec::new();
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        visit(node, graph, &mut Vec::new(), &mut done, &mut found);
    }
    found
}

#[test]
fn no_module_refers_to_a_higher_layer_and_no_layer_has_a_cycle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let layers = layers(&doc);
    assert!(
        layers.len() >= 5,
        "the layer table in ARCHITECTURE.md was not found: {layers:?}"
    );
    let src = root.join("src");
    let mut paths = Vec::new();
    rust_files(&src, &mut paths);
    let files: Vec<(Vec<String>, String)> = paths
        .iter()
        .map(|p| {
            (
                module_of(&src, p),
                std::fs::read_to_string(p).expect("readable"),
            )
        })
        .collect();
    let f = check(&files, &layers);
    assert!(
        f.unplaced.is_empty(),
        "modules in no layer of ARCHITECTURE.md: {:?}",
        f.unplaced
    );
    assert!(
        f.upward.is_empty(),
        "references to a higher layer:\n{}",
        f.upward.iter().cloned().collect::<Vec<_>>().join("\n")
    );
    assert!(f.cycles.is_empty(), "cycles within a layer: {:?}", f.cycles);
}

/// HTTP's crates: only the web layer, the server (`listener`, `tls`) and the entry points name them, so the
/// services, the domain and its types (which carry no OpenAPI annotation) know no HTTP.
const HTTP_CRATES: [&str; 5] = ["axum", "utoipa", "utoipa_axum", "hyper", "tower_http"];
const HTTP_MODULES: [&str; 6] = ["web", "listener", "tls", "app", "cli", "bench"];

/// The HTTP crates a file names as a path (`axum::Router`, `use utoipa;`): a local variable called `hyper` is not one.
fn http_crates_named(code: &str) -> BTreeSet<String> {
    let toks = tokens(&code_only(code));
    let mut named = BTreeSet::new();
    for (i, t) in toks.iter().enumerate() {
        let Tok::Ident(w) = t else { continue };
        let as_path = matches!(toks.get(i + 1), Some(Tok::Colons))
            || matches!(i.checked_sub(1).map(|j| &toks[j]), Some(Tok::Ident(u)) if u == "use");
        if as_path && HTTP_CRATES.contains(&w.as_str()) {
            named.insert(w.clone());
        }
    }
    named
}

#[test]
fn only_the_web_layer_the_server_and_the_entry_points_name_an_http_crate() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    rust_files(&src, &mut paths);
    let mut found = Vec::new();
    for p in &paths {
        let module = module_of(&src, p);
        if module
            .first()
            .is_some_and(|m| HTTP_MODULES.contains(&m.as_str()))
        {
            continue;
        }
        let named = http_crates_named(&std::fs::read_to_string(p).expect("readable"));
        if !named.is_empty() {
            found.push(format!("{}: {named:?}", p.display()));
        }
    }
    assert!(
        found.is_empty(),
        "HTTP crates below the web layer:\n{}",
        found.join("\n")
    );
    assert_eq!(
        http_crates_named(
            "// axum\nuse hyper;\nfn f() -> utoipa::openapi::OpenApi { let axum = \"tower_http::x\"; }"
        ),
        BTreeSet::from(["hyper".to_string(), "utoipa".to_string()]),
        "the check reads code, not comments or strings"
    );
}

#[cfg(test)]
mod the_check {
    use super::*;

    const TABLE: &str = "\
| rank | layer | modules |
| --- | --- | --- |
| 2 | services | `realtime`, `scoring::service` |
| 1 | domain | `engine`, `scoring` |
| 0 | storage | `db` |
";

    fn run(files: &[(&str, &str)]) -> Findings {
        let files: Vec<(Vec<String>, String)> = files
            .iter()
            .map(|(m, s)| {
                let m = if m.is_empty() {
                    Vec::new()
                } else {
                    m.split("::").map(String::from).collect()
                };
                (m, s.to_string())
            })
            .collect();
        check(&files, &layers(TABLE))
    }

    #[test]
    fn an_upward_use_through_a_group_is_found() {
        let f = run(&[
            (
                "db",
                "use crate::{catalog, scoring::{report::Report, self}};",
            ),
            ("scoring", ""),
            ("scoring::report", ""),
        ]);
        assert_eq!(f.upward.len(), 2, "{f:?}");
        assert!(
            f.upward
                .iter()
                .any(|e| e.contains("-> scoring::report::Report (scoring"))
        );
    }

    #[test]
    fn paths_in_code_super_and_child_modules_count_and_comments_and_strings_do_not() {
        let f = run(&[
            (
                "db",
                "// crate::realtime::x\nfn f() { let s = \"crate::realtime::y\"; let c = '{'; }",
            ),
            ("engine", "fn f() { crate::realtime::hub::notify(); }"),
            (
                "scoring",
                "fn t() { service::spawn(); } mod tests { use super::service::spawn; }",
            ),
            ("scoring::service", ""),
            ("realtime", ""),
            ("realtime::hub", ""),
        ]);
        let up: Vec<&String> = f.upward.iter().collect();
        assert_eq!(up.len(), 3, "{up:?}");
        assert!(up.iter().any(|e| e.starts_with("engine ")));
        assert!(
            up.iter().any(|e| e.starts_with("scoring::tests ")),
            "{up:?}"
        );
        assert!(up.iter().any(|e| e.starts_with("scoring ")), "{up:?}");
        assert!(
            !up.iter().any(|e| e.starts_with("db ")),
            "comments and strings are not references"
        );
    }

    #[test]
    fn a_cycle_within_a_layer_is_found_and_a_one_way_pair_is_not() {
        let f = run(&[
            ("realtime", "use crate::scoring::service::spawn;"),
            ("scoring::service", "use crate::realtime::hub::Cmd;"),
            ("realtime::hub", ""),
        ]);
        assert_eq!(f.cycles.len(), 1, "{f:?}");
        let f = run(&[
            ("realtime", "use crate::scoring::service::spawn;"),
            ("scoring::service", ""),
        ]);
        assert!(f.cycles.is_empty() && f.upward.is_empty(), "{f:?}");
    }

    #[test]
    fn a_module_in_no_layer_is_reported() {
        let f = run(&[("web", "")]);
        assert!(f.unplaced.contains("web"), "{f:?}");
    }
}
