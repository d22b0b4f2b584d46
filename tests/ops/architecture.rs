//! The module structure docs/architecture.md describes, checked from the sources: no import
//! cycle between the top-level modules of `src/`, and the layering rules that keep front ends
//! thin and persistence free of the pipeline.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level module → the top-level modules it names through `crate::…` (in `use` lines and
/// in paths; comments are skipped).
type Graph = BTreeMap<String, BTreeSet<String>>;

fn top_level(rel: &Path) -> Option<String> {
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib" && name != "main").then(|| name.to_string())
}

fn references(source: &str) -> BTreeSet<String> {
    // Comments out, lines joined: a `use crate::{a, b::C}` group may span lines.
    let code: String = source
        .lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join(" ");
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // The top-level items of the group: their first path segment.
            let mut depth = 0usize;
            let mut item_start = true;
            for c in group.chars().scan(0usize, |pos, c| {
                let at = *pos;
                *pos += c.len_utf8();
                Some((at, c))
            }) {
                match c.1 {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    _ if item_start && !c.1.is_whitespace() => {
                        let name = ident(&group[c.0..]);
                        if !name.is_empty() && name != "self" {
                            out.insert(name);
                        }
                        item_start = false;
                    }
                    _ => {}
                }
            }
            continue;
        }
        let name = ident(rest);
        if !name.is_empty() {
            out.insert(name);
        }
    }
    out
}

fn source_graph() -> Graph {
    let src = crate::root().join("src");
    let mut graph = Graph::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("src is readable") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(&src).expect("under src");
            let Some(module) = top_level(rel) else {
                continue;
            };
            let text = std::fs::read_to_string(&path).expect("source is readable");
            let deps = graph.entry(module.clone()).or_default();
            deps.extend(references(&text).into_iter().filter(|d| *d != module));
        }
    }
    graph
}

/// Every cycle's members (strongly connected components of more than one module).
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    // Tarjan's algorithm, recursive: the graph has a few dozen nodes.
    struct State<'a> {
        graph: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        next: usize,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.graph.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.graph.contains_key(w) {
                continue;
            }
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.found.push(component);
            }
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.found
}

fn graph_of(edges: &[(&str, &str)]) -> Graph {
    let mut g = Graph::new();
    for (a, b) in edges {
        g.entry(a.to_string()).or_default().insert(b.to_string());
        g.entry(b.to_string()).or_default();
    }
    g
}

#[test]
fn the_cycle_check_finds_cycles() {
    let acyclic = graph_of(&[("a", "b"), ("b", "c"), ("a", "c")]);
    assert!(cycles(&acyclic).is_empty());
    let cyclic = graph_of(&[("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]);
    assert_eq!(cycles(&cyclic), vec![vec!["a", "b", "c"]]);
    assert_eq!(
        references(
            "use crate::storage::{Case};\n// crate::daemon in a comment\nlet x = crate::state::X;"
        ),
        ["state", "storage"].iter().map(|s| s.to_string()).collect()
    );
}

#[test]
fn top_level_modules_have_no_import_cycle() {
    let graph = source_graph();
    assert!(graph.len() > 10, "read the modules of src/: {graph:?}");
    let found = cycles(&graph);
    assert!(
        found.is_empty(),
        "import cycles between top-level modules of src/ (docs/architecture.md says where \
         each kind of code goes): {found:?}\nfull graph: {graph:#?}"
    );
}

#[test]
fn layering_rules_hold() {
    let graph = source_graph();
    let forbidden = [
        // Front ends call the moderation service, never the daemon or the stores behind it.
        ("commands", "daemon"),
        ("commands", "storage"),
        ("commands", "state"),
        ("commands", "pipeline"),
        ("gateway", "storage"),
        ("gateway", "daemon"),
        ("web", "storage"),
        ("web", "state"),
        ("web", "pipeline"),
        ("web", "daemon"),
        ("web", "commands"),
        // Persistence knows the domain, not the pipeline; shared state knows neither.
        ("storage", "pipeline"),
        ("state", "storage"),
        // The pure domain types do no I/O.
        ("domain", "storage"),
        ("domain", "state"),
        ("domain", "discord"),
        // The service does not reach back into its front ends or its start-up.
        ("moderation", "commands"),
        ("moderation", "gateway"),
        ("moderation", "daemon"),
        ("moderation", "web"),
    ];
    let broken: Vec<String> = forbidden
        .iter()
        .filter(|(from, to)| graph.get(*from).is_some_and(|d| d.contains(*to)))
        .map(|(from, to)| format!("{from} imports {to}"))
        .collect();
    assert!(broken.is_empty(), "layering rules broken: {broken:?}");
    for (from, _) in forbidden {
        assert!(graph.contains_key(from), "module {from} not found in src/");
    }
}
