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

/// The top-level modules a file's code names through `crate::` (also in grouped imports:
/// `use crate::{a, b::c}`).
fn named_modules(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for (at, _) in code.match_indices("crate::") {
        if code[..at].ends_with('$') {
            continue; // `$crate::` in a macro: resolved where the macro is used
        }
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = &group[..group.find('}').unwrap_or(group.len())];
            for part in inner.split(',') {
                let name = ident(part.trim());
                if !name.is_empty() {
                    found.insert(name);
                }
            }
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

#[test]
fn every_module_imports_only_from_its_floor_and_below_and_no_floor_has_a_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut problems = Vec::new();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
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
        for named in named_modules(&code) {
            if named == module {
                continue;
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
    // Circles between modules of one floor.
    for start in edges.keys() {
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((at, path)) = stack.pop() {
            for next in edges.get(&at).into_iter().flatten() {
                if next == start {
                    problems.push(format!("a circle: {} -> {start}", path.join(" -> ")));
                } else if seen.insert(next.clone()) {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    stack.push((next.clone(), longer));
                }
            }
        }
    }
    problems.sort();
    problems.dedup();
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn the_check_sees_an_import_from_above_a_grouped_import_and_skips_comments() {
    let code = code(
        "use crate::{db, routes::AppState};\n// crate::app in a comment\nlet x = crate::usecases::run;",
    );
    let named: Vec<String> = named_modules(&code).into_iter().collect();
    assert_eq!(named, ["db", "routes", "usecases"]);
}
