//! The crate's floors, checked: every top-level module of `src` stands on one floor and imports
//! only from floors below it (or its own), no two modules of one floor import each other in a
//! circle, nothing below the web floor names actix, `AppState` or the HTTP error, and no
//! organizer page is registered outside the dashboard's guarded scope. `README.md` ("How it
//! works") draws the same floors. Run alone: `cargo test --test layers`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module of `src` and its floor, from the ground up.
const FLOORS: &[(&str, &[&str])] = &[
    (
        "core",
        &[
            "domain",
            "keys",
            "factors",
            "sealed",
            "log",
            "i18n",
            "markdown",
            "card",
            "qr",
            "ratelimit",
            "files",
            "telemetry",
        ],
    ),
    ("config", &["config", "secrets"]),
    ("store", &["db"]),
    ("use cases", &["usecases"]),
    (
        "services",
        &[
            "services", "email", "package", "live", "export", "demo", "metrics",
        ],
    ),
    ("web", &["routes"]),
    ("bin", &["app", "cli", "main", "lib"]),
];

fn floor_of(module: &str) -> Option<usize> {
    FLOORS
        .iter()
        .position(|(_, modules)| modules.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src` belongs to (`src/db/log.rs` → `db`).
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).expect("a file under src");
    let first = relative
        .components()
        .next()
        .expect("a path")
        .as_os_str()
        .to_string_lossy()
        .to_string();
    first.trim_end_matches(".rs").to_string()
}

/// The code of a file without its comments (doc comments name paths they do not import).
fn code(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The items a file's code names through `prefix` (`crate::`), with whether each is a macro:
/// `crate::db::run` gives `db`; grouped imports, nested too, give each group's first names
/// (`use crate::{db::{a, b}, routes::X}` gives `db` and `routes`).
fn named_after(code: &str, prefix: &str) -> BTreeSet<(String, bool)> {
    let mut found = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut add = |rest: &str| {
        let name = ident(rest);
        if !name.is_empty() {
            let is_macro = rest[name.len()..].starts_with('!');
            found.insert((name, is_macro));
        }
    };
    for (at, _) in code.match_indices(prefix) {
        if code[..at].ends_with('$')
            || code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_')
        {
            continue; // `$crate::` in a macro, or the end of a longer name
        }
        let rest = &code[at + prefix.len()..];
        let Some(group) = rest.strip_prefix('{') else {
            add(rest);
            continue;
        };
        // The group's items at depth 0, up to its closing brace.
        let (mut depth, mut start) = (0usize, 0usize);
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    add(group[start..i].trim());
                    break;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    add(group[start..i].trim());
                    start = i + 1;
                }
                _ => {}
            }
        }
    }
    found
}

fn named_modules(code: &str) -> BTreeSet<String> {
    named_after(code, "crate::")
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

/// Circles in a graph of names; each reported once per starting name.
fn circles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut found = Vec::new();
    for start in edges.keys() {
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((at, path)) = stack.pop() {
            for next in edges.get(&at).into_iter().flatten() {
                if next == start {
                    found.push(format!("a circle: {} -> {start}", path.join(" -> ")));
                } else if seen.insert(next.clone()) {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    stack.push((next.clone(), longer));
                }
            }
        }
    }
    found
}

/// The web floor's folders, whose handlers must not import each other in a circle either.
const WEB_GROUPS: &[&str] = &["public", "signer", "organizer", "admin", "api", "extract"];

#[test]
fn every_module_imports_only_from_its_floor_and_below_and_no_floor_has_a_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut problems = Vec::new();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut web_edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let module = module_of(&src, file);
        let Some(floor) = floor_of(&module) else {
            problems.push(format!(
                "{}: the module `{module}` stands on no floor: add it to FLOORS (and README.md)",
                file.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(file).expect("a readable source file");
        let code = code(&text);
        let relative = file.strip_prefix(&src).expect("under src");
        // In `src/x.rs` and `src/x/mod.rs`, `super::` is the crate root.
        let at_root = relative.components().count() == 1
            || (relative.components().count() == 2 && relative.ends_with("mod.rs"));
        let mut named = named_after(&code, "crate::");
        if at_root {
            // Only names of modules: inside a file's `mod tests`, `super::` is the file itself.
            named.extend(
                named_after(&code, "super::")
                    .into_iter()
                    .filter(|(name, _)| floor_of(name).is_some()),
            );
        }
        if module == "routes" {
            let group = relative
                .components()
                .nth(1)
                .map(|c| {
                    c.as_os_str()
                        .to_string_lossy()
                        .trim_end_matches(".rs")
                        .to_string()
                })
                .filter(|g| WEB_GROUPS.contains(&g.as_str()));
            if let Some(group) = group {
                for (to, _) in named_after(&code, "crate::routes::") {
                    if to != group && WEB_GROUPS.contains(&to.as_str()) {
                        web_edges.entry(group.clone()).or_default().insert(to);
                    }
                }
            }
        }
        for (named, is_macro) in named {
            if named == module {
                continue;
            }
            if floor_of(&named).is_none() && !is_macro {
                problems.push(format!(
                    "{}: `crate::{named}` is on no floor: a module missing from FLOORS, or an \
                     item re-exported at the crate's root",
                    file.display()
                ));
            }
            match floor_of(&named) {
                Some(to) if to > floor => problems.push(format!(
                    "{}: `{module}` ({}) imports `{named}` from the floor above ({})",
                    file.display(),
                    FLOORS[floor].0,
                    FLOORS[to].0
                )),
                Some(to) if to == floor => {
                    edges.entry(module.clone()).or_default().insert(named);
                }
                _ => {}
            }
        }
        if floor < floor_of("routes").expect("the web floor") {
            for word in ["actix", "AppState", "AppError"] {
                if code.contains(word) {
                    problems.push(format!(
                        "{}: `{word}` below the web floor (in `{module}`, {})",
                        file.display(),
                        FLOORS[floor].0
                    ));
                }
            }
        }
        if module == "routes"
            && (code.contains("get(\"/dashboard") || code.contains("post(\"/dashboard"))
        {
            problems.push(format!(
                "{}: a route under /dashboard registered outside the guarded scope \
                 (routes::dashboard_scope): write its path relative to /dashboard",
                file.display()
            ));
        }
    }
    // Circles between modules of one floor, and between the web floor's folders.
    problems.extend(circles(&edges));
    problems.extend(circles(&web_edges));
    problems.sort();
    problems.dedup();
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn the_check_sees_an_import_from_above_a_grouped_import_and_skips_comments() {
    let code = code(
        "use crate::{db::{a, b}, routes::AppState};\n// crate::app in a comment\nlet x = crate::usecases::run; crate::with_csrf!(F);",
    );
    let named: Vec<String> = named_modules(&code).into_iter().collect();
    assert_eq!(named, ["db", "routes", "usecases", "with_csrf"]);
    assert!(named_after(&code, "crate::").contains(&("with_csrf".to_string(), true)));
    let mut edges = BTreeMap::new();
    edges.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    edges.insert("b".to_string(), BTreeSet::from(["a".to_string()]));
    assert_eq!(circles(&edges).len(), 2);
}
