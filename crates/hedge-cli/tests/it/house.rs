//! "A house without circles": in every crate of the workspace, the modules depend on each other one
//! way. A module depends on another when its code names it: a `use crate::…`, `use super::…`,
//! `use self::…` or a child's name, or such a path in the code (serde's `serialize_with = "crate::…"`
//! included). A path through the crate root's re-exports (`crate::TuneSpec`) counts for the module
//! that defines the item. Comments and `#[cfg(test)]` modules are left out: a module's tests may use
//! anything. The modules are found by following `mod name;` from each crate root (`src/lib.rs`,
//! `src/main.rs`, `src/bin/*.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// One crate: its modules by path (`""` for the root, `"cmd::tune"`), each with its code.
struct Krate {
    name: String,
    modules: BTreeMap<String, String>,
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The workspace's members, from the root `Cargo.toml`.
fn members(root: &Path) -> Vec<PathBuf> {
    let manifest = fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let line = manifest
        .lines()
        .find(|l| l.trim_start().starts_with("members"))
        .expect("a members line in the workspace Cargo.toml");
    line.split('"').skip(1).step_by(2).map(|m| root.join(m)).collect()
}

/// A file's code without comments and without its `#[cfg(test)]` modules (inline, or `mod tests;` in a file).
fn code_of(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let t = line.trim_start();
        if t.starts_with("//") {
            continue;
        }
        if t.starts_with("#[cfg(test)]")
            && lines
                .peek()
                .is_some_and(|n| n.trim_start().starts_with("mod ") && n.trim_end().ends_with(';'))
        {
            // A test module in its own file (`mod tests;`): left out like an inline one.
            lines.next();
            continue;
        }
        if t.starts_with("#[cfg(test)]")
            && lines
                .peek()
                .is_some_and(|n| n.trim_start().starts_with("mod ") && n.contains('{'))
        {
            // Skip the module: up to its closing brace.
            let mut depth = 0i64;
            for l in lines.by_ref() {
                depth += l.matches('{').count() as i64 - l.matches('}').count() as i64;
                if depth <= 0 && l.contains('}') {
                    break;
                }
            }
            continue;
        }
        let code = match line.find(" // ") {
            Some(i) if !line[..i].contains('"') => &line[..i],
            _ => line,
        };
        out.push_str(code);
        out.push('\n');
    }
    out
}

/// The `mod name;` declarations of some code.
fn declared_modules(code: &str) -> Vec<String> {
    code.lines()
        .filter_map(|l| {
            let mut t = l.trim();
            for prefix in ["pub(crate) ", "pub(super) ", "pub "] {
                t = t.strip_prefix(prefix).unwrap_or(t);
            }
            let name = t.strip_prefix("mod ")?.strip_suffix(';')?.trim();
            name.chars()
                .all(|c| c.is_alphanumeric() || c == '_')
                .then(|| name.to_string())
        })
        .collect()
}

/// The crate rooted at `file`, its modules found by following `mod name;`.
fn load(name: String, file: &Path) -> Krate {
    let mut modules = BTreeMap::new();
    // (module path, file, directory of its children)
    let mut todo = vec![(String::new(), file.to_path_buf(), file.parent().unwrap().to_path_buf())];
    while let Some((path, file, dir)) = todo.pop() {
        let code = code_of(&fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display())));
        for child in declared_modules(&code) {
            let (flat, nested) = (dir.join(format!("{child}.rs")), dir.join(&child).join("mod.rs"));
            let (child_file, child_dir) = if flat.exists() {
                (flat, dir.join(&child))
            } else if nested.exists() {
                (nested, dir.join(&child))
            } else {
                panic!("{}: module {child} has no file", file.display());
            };
            let child_path = if path.is_empty() {
                child
            } else {
                format!("{path}::{child}")
            };
            todo.push((child_path, child_file, child_dir));
        }
        modules.insert(path, code);
    }
    Krate { name, modules }
}

/// Every crate root of the workspace: `src/lib.rs`, `src/main.rs`, `src/bin/*.rs`.
fn crates() -> Vec<Krate> {
    let root = workspace_root();
    let mut out = Vec::new();
    for member in members(&root) {
        let name = member.file_name().unwrap().to_string_lossy().into_owned();
        let src = member.join("src");
        for (file, label) in [(src.join("lib.rs"), "lib"), (src.join("main.rs"), "main")] {
            if file.exists() {
                out.push(load(format!("{name} ({label})"), &file));
            }
        }
        if let Ok(bins) = fs::read_dir(src.join("bin")) {
            let mut bins: Vec<PathBuf> = bins.map(|e| e.unwrap().path()).collect();
            bins.sort();
            for bin in bins.into_iter().filter(|p| p.extension().is_some_and(|e| e == "rs")) {
                let stem = bin.file_stem().unwrap().to_string_lossy().into_owned();
                out.push(load(format!("{name} (bin {stem})"), &bin));
            }
        }
    }
    out
}

/// Every path `a::b::c` of the code (identifier segments), with `use` trees expanded:
/// `use crate::{a::X, b}` gives `crate::a::X` and `crate::b`.
fn paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    // `use` statements, up to their `;`.
    let mut rest = code;
    while let Some(i) = find_word(rest, "use") {
        let after = &rest[i + 3..];
        let end = after.find(';').unwrap_or(after.len());
        expand(&after[..end], &mut Vec::new(), &mut out);
        rest = &after[end..];
    }
    // Paths anywhere in the code (a `use` tree's prefix is found here too, harmlessly).
    let bytes: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if (c.is_alphabetic() || c == '_')
            && (i == 0 || !(bytes[i - 1].is_alphanumeric() || bytes[i - 1] == '_' || bytes[i - 1] == '$'))
        {
            let mut segs = Vec::new();
            let mut j = i;
            loop {
                let start = j;
                while j < bytes.len() && (bytes[j].is_alphanumeric() || bytes[j] == '_') {
                    j += 1;
                }
                segs.push(bytes[start..j].iter().collect::<String>());
                if j + 2 < bytes.len()
                    && bytes[j] == ':'
                    && bytes[j + 1] == ':'
                    && (bytes[j + 2].is_alphabetic() || bytes[j + 2] == '_')
                {
                    j += 2;
                } else {
                    break;
                }
            }
            if segs.len() > 1 {
                out.push(segs);
            }
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

/// The byte offset of `word` standing alone in `s`.
fn find_word(s: &str, word: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = s[from..].find(word) {
        let at = from + i;
        let before = s[..at].chars().next_back();
        let after = s[at + word.len()..].chars().next();
        let alone = |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        if alone(before) && after.is_some_and(char::is_whitespace) {
            return Some(at);
        }
        from = at + word.len();
    }
    None
}

/// Expand one `use` tree under `prefix`.
fn expand(tree: &str, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let head: Vec<String> = tree[..open]
            .split("::")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        let close = tree.rfind('}').unwrap_or(tree.len());
        let inner = &tree[open + 1..close];
        let n = prefix.len();
        prefix.extend(head);
        // Split the inner list at top-level commas.
        let (mut depth, mut start) = (0, 0);
        for (k, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(&inner[start..k], prefix, out);
                    start = k + 1;
                }
                _ => {}
            }
        }
        expand(&inner[start..], prefix, out);
        prefix.truncate(n);
    } else if !tree.is_empty() {
        let tree = tree.split(" as ").next().unwrap().trim();
        let mut p = prefix.clone();
        p.extend(
            tree.split("::")
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty() && s != "self"),
        );
        out.push(p);
    }
}

/// The module a path of module `from` names, if it names one of the crate's modules (the
/// longest module prefix; an item re-exported by the root counts for its defining module).
fn target(krate: &Krate, reexports: &BTreeMap<String, String>, from: &str, path: &[String]) -> Option<String> {
    let mut base: Vec<String> = if from.is_empty() {
        Vec::new()
    } else {
        from.split("::").map(String::from).collect()
    };
    let mut segs = path;
    match segs.first().map(String::as_str) {
        Some("crate") => {
            base.clear();
            segs = &segs[1..];
        }
        Some("super") => {
            while segs.first().is_some_and(|s| s == "super") {
                base.pop()?;
                segs = &segs[1..];
            }
        }
        Some("self") => segs = &segs[1..],
        Some(first) => {
            // A child of `from` named without `self::`.
            let child = if from.is_empty() {
                first.to_string()
            } else {
                format!("{from}::{first}")
            };
            if !krate.modules.contains_key(&child) {
                return None;
            }
        }
        None => return None,
    }
    let mut found = base.join("::");
    let mut cur = base;
    for s in segs {
        cur.push(s.clone());
        let p = cur.join("::");
        if krate.modules.contains_key(&p) {
            found = p;
        } else {
            // `crate::Name`: the module the root re-exports it from.
            if found.is_empty()
                && let Some(m) = reexports.get(s)
            {
                found = m.clone();
            }
            break;
        }
    }
    Some(found)
}

/// The root's `pub use module::…::Name` re-exports: name → defining module.
fn reexports(krate: &Krate) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let root = &krate.modules[""];
    let mut all = Vec::new();
    for stmt in root.split(';') {
        if let Some(i) = stmt.find("pub use ") {
            expand(&stmt[i + 8..], &mut Vec::new(), &mut all);
        }
    }
    for p in all {
        let Some(name) = p.last() else { continue };
        let mut module = String::new();
        for k in 1..p.len() {
            let cand = p[..k].join("::");
            if krate.modules.contains_key(&cand) {
                module = cand;
            }
        }
        if !module.is_empty() {
            out.insert(name.clone(), module);
        }
    }
    out
}

/// The module graph: module → modules it depends on (itself, its own children's declarations
/// and the root's re-exports left out).
fn graph(krate: &Krate) -> BTreeMap<String, BTreeSet<String>> {
    let re = reexports(krate);
    let mut g = BTreeMap::new();
    for (module, code) in &krate.modules {
        let mut deps = BTreeSet::new();
        for p in paths(code) {
            if let Some(t) = target(krate, &re, module, &p)
                && t != *module
            {
                deps.insert(t);
            }
        }
        if module.is_empty() {
            // The root declares and re-exports every module; that is not a use.
            deps.clear();
        }
        g.insert(module.clone(), deps);
    }
    g
}

/// The strongly connected components with more than one module (Tarjan).
fn cycles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        g: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on.insert(v);
        for w in &s.g[v] {
            let w = w.as_str();
            if !s.g.contains_key(w) {
                continue;
            }
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if s.on.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
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
    let mut s = State {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in g.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out
}

fn show(m: &str) -> &str {
    if m.is_empty() { "(root)" } else { m }
}

/// Circles that were there when this check was written, in crates this check's authors did not own:
/// the crate and the modules of each circle. The test fails on any other circle, and on an entry
/// here that is gone (delete it then: the list only shrinks).
const KNOWN: &[(&str, &[&str])] = &[];

#[test]
fn no_module_imports_itself_through_others() {
    let mut found = Vec::new();
    let mut seen = BTreeSet::new();
    for krate in crates() {
        let g = graph(&krate);
        for comp in cycles(&g) {
            let known = KNOWN
                .iter()
                .any(|(k, ms)| *k == krate.name && ms.iter().map(|m| m.to_string()).eq(comp.iter().cloned()));
            if known {
                seen.insert((krate.name.clone(), comp));
                continue;
            }
            let edges: Vec<String> = comp
                .iter()
                .flat_map(|a| {
                    g[a].iter()
                        .filter(|b| comp.contains(b))
                        .map(move |b| format!("{} -> {}", show(a), show(b)))
                })
                .collect();
            found.push(format!("{}: {}", krate.name, edges.join(", ")));
        }
    }
    for (k, ms) in KNOWN {
        let comp: Vec<String> = ms.iter().map(|m| m.to_string()).collect();
        if !seen.contains(&(k.to_string(), comp)) {
            found.push(format!(
                "{k}: the known circle {ms:?} is gone or changed: update KNOWN in this file"
            ));
        }
    }
    assert!(found.is_empty(), "import circles:\n{}", found.join("\n"));
}

/// The checker itself sees the circles it is meant to see (and the hedge-cli ones it once saw are gone).
#[test]
fn the_checker_finds_a_circle() {
    let modules = [
        ("", "mod a;\nmod b;\npub use a::Thing;\n"),
        ("a", "use crate::b::{self, Other};\npub struct Thing;\n"),
        (
            "b",
            "pub struct Other;\n// use crate::a;  (a comment is no use)\nfn f() -> crate::Thing { crate::Thing }\n#[cfg(test)]\nmod tests {\n    use super::*;\n}\n",
        ),
    ];
    let krate = Krate {
        name: "t".into(),
        modules: modules.iter().map(|(p, c)| (p.to_string(), code_of(c))).collect(),
    };
    let g = graph(&krate);
    assert_eq!(g["a"], BTreeSet::from(["b".to_string()]));
    assert_eq!(g["b"], BTreeSet::from(["a".to_string()]));
    assert_eq!(cycles(&g), vec![vec!["a".to_string(), "b".to_string()]]);

    let cli = crates().into_iter().find(|k| k.name == "hedge-cli (main)").unwrap();
    let g = graph(&cli);
    assert!(g["cli"].contains("cmd::tune"), "{:?}", g["cli"]);
    for (m, deps) in &g {
        if m.starts_with("cmd::") {
            assert!(!deps.contains("cli"), "{m} imports cli.rs");
        }
    }
}

/// The module graph of every crate, for reading (`cargo test -p hedge-cli --test it house::graphs -- --ignored --nocapture`).
#[test]
#[ignore = "prints the graphs; asserts nothing"]
fn graphs() {
    for krate in crates() {
        println!("{}", krate.name);
        for (m, deps) in graph(&krate) {
            let deps: Vec<&str> = deps.iter().map(|d| show(d)).collect();
            println!("  {} -> {}", show(&m), deps.join(", "));
        }
    }
}

/// Every Rust file of the workspace's members (sources, tests, benches) under this many lines: a longer
/// one does several jobs and is split by job (or its tests moved beside it, `mod tests;`).
const MAX_LINES: usize = 1_000;

#[test]
fn no_file_is_over_a_thousand_lines() {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }
    let root = workspace_root();
    let mut files = Vec::new();
    for member in members(&root) {
        for sub in ["src", "tests", "benches"] {
            walk(&member.join(sub), &mut files);
        }
    }
    assert!(files.len() > 100, "found only {} files", files.len());
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let n = fs::read_to_string(f).ok()?.lines().count();
            (n > MAX_LINES).then(|| format!("{} ({n} lines)", f.strip_prefix(&root).unwrap_or(f).display()))
        })
        .collect();
    assert!(long.is_empty(), "files over {MAX_LINES} lines: {long:?}");
}
