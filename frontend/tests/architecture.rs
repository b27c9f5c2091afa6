//! The layering of `frontend/src` (docs/ARCHITECTURE.md), checked on the source text: no
//! import cycle between top-level modules, and the rules of issue 15 (layers never imports
//! tabular, dataset never imports model, tabular/table.rs never imports tabular/csv.rs).
//!
//! The scanner reads every `.rs` file under `frontend/src`, drops comments, strings and
//! char literals, and resolves every `crate::…` / `$crate::…` / `super::…` / `self::…` path
//! (use groups `{a, b::c}` included, and paths written inline in code) to the module it
//! names, tracking inline `mod name { … }` blocks (test modules included: a test that
//! imports against the layering is an import against the layering). Paths through names
//! re-exported at the crate root (`crate::Tensor`) are resolved through lib.rs' `pub use`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One import: the module path of the file (or inline module) it is written in, the module
/// path it names, and where.
#[derive(Debug, Clone)]
struct Edge {
    from: Vec<String>,
    to: Vec<String>,
    file: String,
    line: usize,
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let p = e.path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The module path of a file: `lib.rs` → [], `dataset/mod.rs` → [dataset],
/// `tabular/csv.rs` → [tabular, csv].
fn module_of(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|s| s.to_string_lossy().to_string())
        .collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_string());
    }
    parts
}

/// The source with comments, string and char literals blanked (newlines kept, so byte
/// offsets still give line numbers).
fn strip(src: &str) -> String {
    let b: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && {
            // A raw string r"…" or r#"…"#.
            let mut j = i + 1;
            while b.get(j) == Some(&'#') {
                j += 1;
            }
            b.get(j) == Some(&'"') && (i == 0 || !(b[i - 1].is_alphanumeric() || b[i - 1] == '_'))
        } {
            let mut hashes = 0;
            let mut j = i + 1;
            while b[j] == '#' {
                hashes += 1;
                j += 1;
            }
            j += 1;
            loop {
                if j >= b.len() {
                    break;
                }
                if b[j] == '"' && (0..hashes).all(|k| b.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            for &ch in &b[i..j.min(b.len())] {
                out.push(blank(ch));
            }
            i = j;
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < b.len() {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{..}'); a lifetime ('a) is left alone.
            let close = if next == Some('\\') {
                (i + 2..b.len().min(i + 12)).find(|&j| b[j] == '\'')
            } else if b.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match close {
                Some(j) => {
                    for _ in i..=j {
                        out.push(' ');
                    }
                    i = j + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn ident_at(b: &[u8], mut i: usize) -> (String, usize) {
    let start = i;
    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
        i += 1;
    }
    (String::from_utf8_lossy(&b[start..i]).to_string(), i)
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// Parses a use tree (or an inline path) at `i`, prefixed by `prefix`: every leaf path.
fn tree(b: &[u8], i: usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
    let i = skip_ws(b, i);
    if i < b.len() && b[i] == b'{' {
        let mut i = i + 1;
        loop {
            i = skip_ws(b, i);
            if i >= b.len() {
                return i;
            }
            if b[i] == b'}' {
                return i + 1;
            }
            if b[i] == b',' {
                i += 1;
                continue;
            }
            let before = i;
            i = tree(b, i, prefix.clone(), out);
            if i == before {
                i += 1;
            }
        }
    }
    if i < b.len() && b[i] == b'*' {
        out.push(prefix);
        return i + 1;
    }
    let (id, j) = ident_at(b, i);
    if id.is_empty() {
        out.push(prefix);
        return i;
    }
    let mut path = prefix;
    if id != "self" {
        path.push(id);
    }
    let k = skip_ws(b, j);
    if b.get(k) == Some(&b':') && b.get(k + 1) == Some(&b':') {
        tree(b, k + 2, path, out)
    } else {
        out.push(path);
        j
    }
}

/// Every path in one file, resolved to absolute module paths.
fn scan(file: &str, module: &[String], src: &str) -> Vec<Edge> {
    let text = strip(src);
    let b = text.as_bytes();
    let line_of = |pos: usize| text[..pos].matches('\n').count() + 1;
    let mut edges = Vec::new();
    // Inline modules: (name, brace depth at which it closes).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let word_start = i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
        if c == b'{' {
            depth += 1;
            i += 1;
            continue;
        }
        if c == b'}' {
            depth = depth.saturating_sub(1);
            if inline.last().is_some_and(|(_, d)| *d == depth) {
                inline.pop();
            }
            i += 1;
            continue;
        }
        if !word_start || !(c.is_ascii_alphabetic() || c == b'$') {
            i += 1;
            continue;
        }
        let (id, j) = if c == b'$' {
            let (w, j) = ident_at(b, i + 1);
            (format!("${w}"), j)
        } else {
            ident_at(b, i)
        };
        if id == "mod" {
            let k = skip_ws(b, j);
            let (name, k2) = ident_at(b, k);
            let k3 = skip_ws(b, k2);
            if !name.is_empty() && b.get(k3) == Some(&b'{') {
                inline.push((name, depth));
            }
            i = j;
            continue;
        }
        let here: Vec<String> = module
            .iter()
            .cloned()
            .chain(inline.iter().map(|(n, _)| n.clone()))
            .collect();
        let k = skip_ws(b, j);
        let is_path = b.get(k) == Some(&b':') && b.get(k + 1) == Some(&b':');
        let base = match id.as_str() {
            "crate" | "$crate" if is_path => Some((Vec::new(), k + 2)),
            "self" if is_path => Some((here.clone(), k + 2)),
            "super" if is_path => {
                let mut m = here.clone();
                m.pop();
                let mut p = k + 2;
                loop {
                    let q = skip_ws(b, p);
                    let (w, e) = ident_at(b, q);
                    let r = skip_ws(b, e);
                    if w == "super" && b.get(r) == Some(&b':') && b.get(r + 1) == Some(&b':') {
                        m.pop();
                        p = r + 2;
                    } else {
                        break;
                    }
                }
                Some((m, p))
            }
            _ => None,
        };
        match base {
            Some((prefix, p)) => {
                let mut paths = Vec::new();
                let end = tree(b, p, prefix, &mut paths);
                let line = line_of(i);
                for to in paths {
                    edges.push(Edge {
                        from: here.clone(),
                        to,
                        file: file.to_string(),
                        line,
                    });
                }
                i = end.max(j);
            }
            None => i = j,
        }
    }
    edges
}

struct Crate {
    /// Top-level modules (folders and files of `src`).
    tops: BTreeSet<String>,
    /// Names `lib.rs` re-exports at the root, with the module they come from.
    root_reexports: BTreeMap<String, String>,
    edges: Vec<Edge>,
}

fn load() -> Crate {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rs_files(&src, &mut files);
    let mut tops = BTreeSet::new();
    let mut edges = Vec::new();
    let mut root_reexports = BTreeMap::new();
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        let module = module_of(rel);
        let text = std::fs::read_to_string(f).unwrap();
        if let Some(top) = module.first() {
            tops.insert(top.clone());
        } else {
            // lib.rs: `pub use a::{B, C};` re-exports B and C from a.
            let stripped = strip(&text);
            for stmt in stripped.split(';') {
                let s = stmt.trim();
                if let Some(rest) = s.strip_prefix("pub use ") {
                    let mut paths = Vec::new();
                    tree(rest.as_bytes(), 0, Vec::new(), &mut paths);
                    for p in paths {
                        if p.len() >= 2 {
                            root_reexports.insert(p.last().unwrap().clone(), p[0].clone());
                        }
                    }
                }
            }
        }
        let name = format!("frontend/src/{}", rel.display());
        edges.extend(scan(&name, &module, &text));
    }
    Crate {
        tops,
        root_reexports,
        edges,
    }
}

impl Crate {
    /// The top-level module a path names (through lib.rs' re-exports), if any.
    fn top_of(&self, path: &[String]) -> Option<String> {
        let first = path.first()?;
        if self.tops.contains(first) {
            Some(first.clone())
        } else {
            self.root_reexports.get(first).cloned()
        }
    }

    /// Edges between different top-level modules: (from, to) → where.
    fn top_graph(&self) -> BTreeMap<(String, String), Vec<String>> {
        let mut g: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        for e in &self.edges {
            let (Some(a), Some(b)) = (e.from.first().cloned(), self.top_of(&e.to)) else {
                continue;
            };
            if a != b {
                g.entry((a, b)).or_default().push(format!(
                    "{}:{} ({})",
                    e.file,
                    e.line,
                    e.to.join("::")
                ));
            }
        }
        g
    }
}

/// Strongly connected components with more than one module (Tarjan).
fn cycles(nodes: &BTreeSet<String>, edges: &BTreeSet<(String, String)>) -> Vec<Vec<String>> {
    struct St<'a> {
        adj: BTreeMap<&'a str, Vec<&'a str>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut St<'a>, v: &'a str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on.insert(v);
        for w in s.adj.get(v).cloned().unwrap_or_default() {
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low[v];
                s.low.insert(v, lv.min(lw));
            } else if s.on.contains(w) {
                let iw = s.index[w];
                let lv = s.low[v];
                s.low.insert(v, lv.min(iw));
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            loop {
                let w = s.stack.pop().unwrap();
                s.on.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                s.out.push(comp);
            }
        }
    }
    let mut s = St {
        adj: BTreeMap::new(),
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for (a, b) in edges {
        s.adj.entry(a.as_str()).or_default().push(b.as_str());
    }
    for n in nodes {
        if !s.index.contains_key(n.as_str()) {
            visit(&mut s, n.as_str());
        }
    }
    s.out
}

/// Import edges excepted from the cycle check while a refactor removes them: none today.
/// An entry here must name the change that removes it.
const PENDING: &[(&str, &str)] = &[];

/// The cycles of the graph without the `skip`ped edges, each listed with the imports that
/// make it (file:line), as one report.
fn cycle_report(c: &Crate, skip: &[(&str, &str)]) -> Vec<String> {
    let g = c.top_graph();
    let edges: BTreeSet<(String, String)> = g
        .keys()
        .filter(|(a, b)| !skip.contains(&(a.as_str(), b.as_str())))
        .cloned()
        .collect();
    cycles(&c.tops, &edges)
        .into_iter()
        .map(|comp| {
            let mut s = format!("cycle between {{{}}}:\n", comp.join(", "));
            for (a, b) in &edges {
                if comp.contains(a) && comp.contains(b) {
                    let at = &g[&(a.clone(), b.clone())];
                    s += &format!("  {a} -> {b}: {}\n", at.join("; "));
                }
            }
            s
        })
        .collect()
}

/// Imports from module `from` (a module path prefix) into module `to`, as `file:line`.
fn imports(c: &Crate, from: &[&str], to: &[&str]) -> Vec<String> {
    let starts =
        |p: &[String], q: &[&str]| p.len() >= q.len() && p.iter().zip(q).all(|(a, b)| a == b);
    c.edges
        .iter()
        .filter(|e| {
            let target = match c.top_of(&e.to) {
                Some(t) if e.to.first() != Some(&t) => vec![t],
                _ => e.to.clone(),
            };
            starts(&e.from, from) && starts(&target, to)
        })
        .map(|e| format!("{}:{} ({})", e.file, e.line, e.to.join("::")))
        .collect()
}

#[test]
fn scanner_resolves_groups_inline_paths_and_super() {
    let src = "use crate::{a, b::{c, d::E}};\n// crate::commented\nfn f() { let s = \"crate::in_string\"; crate::x::y(); super::super::z::W; }\nmod tests { use super::*; use super::q::R; }\n";
    let e = scan("t.rs", &["m".into(), "n".into()], src);
    let got: Vec<String> = e
        .iter()
        .map(|e| format!("{}>{}", e.from.join("::"), e.to.join("::")))
        .collect();
    assert_eq!(
        got,
        vec![
            "m::n>a",
            "m::n>b::c",
            "m::n>b::d::E",
            "m::n>x::y",
            "m::n>z::W",
            "m::n::tests>m::n",
            "m::n::tests>m::n::q::R",
        ]
    );
    assert_eq!(e[3].line, 3);
}

#[test]
fn no_cycle_between_top_level_modules() {
    let c = load();
    assert!(c.tops.contains("dataset") && c.tops.contains("model") && c.edges.len() > 100);
    // Everything, for the record (pending edges included).
    for r in cycle_report(&c, &[]) {
        eprintln!("{r}");
    }
    let report = cycle_report(&c, PENDING);
    assert!(report.is_empty(), "import cycles:\n{}", report.join("\n"));
}

#[test]
fn dataset_never_imports_model() {
    let found = imports(&load(), &["dataset"], &["model"]);
    assert!(found.is_empty(), "dataset imports model: {found:?}");
}

#[test]
fn data_imports_neither_dataset_nor_model() {
    let c = load();
    let mut found = imports(&c, &["data"], &["dataset"]);
    found.extend(imports(&c, &["data"], &["model"]));
    assert!(found.is_empty(), "data imports dataset or model: {found:?}");
}

#[test]
fn table_knows_nothing_of_csv() {
    let found = imports(&load(), &["tabular", "table"], &["tabular", "csv"]);
    assert!(
        found.is_empty(),
        "tabular/table.rs imports tabular/csv.rs: {found:?}"
    );
}

#[test]
fn layers_never_imports_tabular() {
    let found = imports(&load(), &["layers"], &["tabular"]);
    assert!(found.is_empty(), "layers imports tabular: {found:?}");
}

#[test]
fn distribute_imports_only_error() {
    // The collectives of data-parallel training sit at the bottom, beside `error`: the
    // training loop (model) uses them, never the reverse.
    let c = load();
    assert!(c.tops.contains("distribute"));
    let found: Vec<_> = c
        .edges
        .iter()
        .filter(|e| e.from.first().map(String::as_str) == Some("distribute"))
        .filter(|e| {
            let to = e.to.first().map(String::as_str);
            to != Some("distribute") && to != Some("error")
        })
        .map(|e| format!("{}:{} -> {}", e.file, e.line, e.to.join("::")))
        .collect();
    assert!(
        found.is_empty(),
        "distribute imports more than error: {found:?}"
    );
}
