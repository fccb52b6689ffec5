//! `cargo xtask tidy`: the shape rules a reviewer would otherwise check by hand, run as
//! a test too (so `cargo xtask test` enforces them).
//!
//! - No two modules of a crate import each other, directly or through others: each
//!   request's path runs one way down. A module is a file; its imports are the
//!   `crate::`, `super::` and `self::` paths it names (in `use` declarations, re-exports
//!   and code), resolved to the longest module they reach.
//! - No file of `crates/verity-http/src` is longer than 600 lines: the doors stay thin.
//! - No module documentation points to a tracker number (the word issue and a number):
//!   readers cannot see the tracker.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The longest a file of the HTTP doors may be.
const MAX_HTTP_FILE_LINES: usize = 600;

/// Runs every rule over the workspace at `root`; returns what breaks them.
pub fn check(root: &Path) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    for source in crate_sources(root)? {
        let modules = modules(&source)?;
        for cycle in cycles(&modules) {
            problems.push(format!(
                "{}: modules import each other: {}",
                source.display(),
                cycle.join(" <-> ")
            ));
        }
        for module in modules.values() {
            if let Some(problem) = tracker_reference(module) {
                problems.push(problem);
            }
        }
    }
    let http = root.join("crates/verity-http/src");
    for file in rust_files(&http)? {
        let lines = std::fs::read_to_string(&file)?.lines().count();
        if lines > MAX_HTTP_FILE_LINES {
            problems.push(format!(
                "{}: {lines} lines, more than {MAX_HTTP_FILE_LINES}",
                file.display()
            ));
        }
    }
    Ok(problems)
}

/// The `src` directory of every crate of the workspace.
fn crate_sources(root: &Path) -> Result<Vec<PathBuf>> {
    let mut sources = vec![root.join("xtask/src")];
    let crates = root.join("crates");
    for entry in std::fs::read_dir(&crates).with_context(|| crates.display().to_string())? {
        let source = entry?.path().join("src");
        if source.is_dir() {
            sources.push(source);
        }
    }
    sources.sort();
    Ok(sources)
}

fn rust_files(directory: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(directory)? {
        let path = entry?.path();
        if path.is_dir() {
            files.extend(rust_files(&path)?);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// One module file: its path in the crate (`a::b`, the root is empty) and its text.
struct Module {
    file: PathBuf,
    path: Vec<String>,
    text: String,
}

/// Every module file of a crate's `src`, by module path.
fn modules(source: &Path) -> Result<BTreeMap<String, Module>> {
    let mut modules = BTreeMap::new();
    for file in rust_files(source)? {
        let relative = file.strip_prefix(source)?;
        let mut path: Vec<String> = relative
            .with_extension("")
            .components()
            .map(|component| component.as_os_str().to_string_lossy().into_owned())
            .collect();
        if matches!(
            path.last().map(String::as_str),
            Some("mod" | "lib" | "main")
        ) {
            path.pop();
        }
        // Binaries beside the library (src/bin/x.rs) are crates of their own.
        if path.first().map(String::as_str) == Some("bin") {
            continue;
        }
        let text = std::fs::read_to_string(&file)?;
        modules.insert(path.join("::"), Module { file, path, text });
    }
    Ok(modules)
}

/// The modules `module` names, resolved to the longest known module path.
fn imports(module: &Module, known: &BTreeSet<String>) -> BTreeSet<String> {
    // `super::` in a.rs and in a/mod.rs both mean the parent of module `a`.
    let parent: Vec<String> = module
        .path
        .split_last()
        .map(|(_, parent)| parent.to_vec())
        .unwrap_or_default();
    let code = strip_comments(&module.text);
    let mut found = BTreeSet::new();
    let own = module.path.join("::");
    // `use child::Item;` (a path relative to the module) names a child module.
    let relative = use_declarations(&code).into_iter().filter_map(|path| {
        let first = path.split("::").next()?;
        let child = if own.is_empty() {
            first.to_owned()
        } else {
            format!("{own}::{first}")
        };
        known.contains(&child).then(|| format!("self::{path}"))
    });
    for path in paths(&code).into_iter().chain(relative) {
        let mut segments: Vec<&str> = path.split("::").collect();
        let mut resolved: Vec<String> = match segments.first().copied() {
            Some("crate") => Vec::new(),
            Some("self") => module.path.clone(),
            Some("super") => parent.clone(),
            _ => continue,
        };
        segments.remove(0);
        let mut segments = segments.into_iter().peekable();
        // `super::super::x`
        while segments.peek() == Some(&"super") {
            segments.next();
            resolved.pop();
        }
        let mut longest = resolved.join("::");
        for segment in segments {
            resolved.push(segment.to_owned());
            let candidate = resolved.join("::");
            if known.contains(&candidate) {
                longest = candidate;
            } else {
                break;
            }
        }
        if longest != module.path.join("::") && known.contains(&longest) {
            found.insert(longest);
        }
    }
    found
}

/// The code a module's build uses: without `//` comments (documentation names modules
/// without importing them) and without its tests (from the first `#[cfg(test)]` at the
/// start of a line: a module's tests may drive it through the modules above it).
fn strip_comments(text: &str) -> String {
    text.lines()
        .take_while(|line| !line.starts_with("#[cfg(test)]"))
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `crate::…`, `super::…` and `self::…` path in the text, with `use` trees
/// (`crate::{a, b::{c, d}}`) expanded.
fn paths(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut found = Vec::new();
    let mut index = 0;
    while index < chars.len() {
        let rest: String = chars.iter().skip(index).take(8).collect();
        let starts = ["crate::", "super::", "self::"]
            .iter()
            .any(|prefix| rest.starts_with(prefix));
        let before = index.checked_sub(1).and_then(|at| chars.get(at)).copied();
        let boundary = before.is_none_or(|before| !is_ident(before) && before != ':');
        if starts && boundary {
            let (tree, end) = read_tree(&chars, index);
            found.extend(expand(&tree));
            index = end.max(index + 1);
        } else {
            index += 1;
        }
    }
    found
}

/// The paths of every `use` declaration (`pub use`, `pub(crate) use` too), expanded.
fn use_declarations(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    for statement in code.split(';') {
        let trimmed = statement.trim_start();
        let without_visibility = trimmed
            .strip_prefix("pub(crate) ")
            .or_else(|| trimmed.strip_prefix("pub(super) "))
            .or_else(|| trimmed.strip_prefix("pub "))
            .unwrap_or(trimmed);
        if let Some(tree) = without_visibility.strip_prefix("use ") {
            let tree = tree.split_whitespace().collect::<Vec<_>>().join(" ");
            let tree = tree
                .replace(":: ", "::")
                .replace(" ::", "::")
                .replace("{ ", "{")
                .replace(" }", "}")
                .replace(", ", ",");
            found.extend(
                expand(&tree)
                    .into_iter()
                    .map(|path| path.split(" as ").next().unwrap_or_default().to_owned()),
            );
        }
    }
    found
}

fn is_ident(character: char) -> bool {
    character.is_alphanumeric() || character == '_'
}

/// Reads a path or use tree starting at `start`: identifiers, `::`, and balanced braces.
fn read_tree(chars: &[char], start: usize) -> (String, usize) {
    let mut tree = String::new();
    let mut depth = 0usize;
    let mut index = start;
    while let Some(&character) = chars.get(index) {
        match character {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' | ' ' | '\n' | '\t' | '\r' if depth > 0 => {}
            c if is_ident(c) || c == ':' || c == '*' => {}
            _ if depth == 0 => break,
            _ => {}
        }
        if !character.is_whitespace() {
            tree.push(character);
        }
        index += 1;
    }
    (tree, index)
}

/// `a::{b, c::{d}}` into `a::b`, `a::c::d`; `a::b as c` keeps `a::b`.
fn expand(tree: &str) -> Vec<String> {
    let Some((prefix, rest)) = tree.split_once('{') else {
        return vec![tree.trim_end_matches("::").to_owned()];
    };
    let inner = rest.strip_suffix('}').unwrap_or(rest);
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut current = String::new();
    for character in inner.chars() {
        match character {
            '{' => {
                depth += 1;
                current.push(character);
            }
            '}' => {
                depth = depth.saturating_sub(1);
                current.push(character);
            }
            ',' if depth == 0 => parts.push(std::mem::take(&mut current)),
            _ => current.push(character),
        }
    }
    parts.push(current);
    parts
        .into_iter()
        .filter(|part| !part.is_empty())
        .flat_map(|part| {
            let joined = if part == "self" {
                prefix.trim_end_matches("::").to_owned()
            } else {
                format!("{prefix}{part}")
            };
            expand(&joined)
        })
        .collect()
}

/// The groups of modules that reach each other (strongly connected components of more
/// than one module), each as a sorted list.
fn cycles(modules: &BTreeMap<String, Module>) -> Vec<Vec<String>> {
    let known: BTreeSet<String> = modules.keys().cloned().collect();
    let edges: BTreeMap<&str, BTreeSet<String>> = modules
        .iter()
        .map(|(name, module)| (name.as_str(), imports(module, &known)))
        .collect();
    let reaches = |from: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_owned()];
        while let Some(node) = stack.pop() {
            for next in edges.get(node.as_str()).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    stack.push(next.clone());
                }
            }
        }
        seen
    };
    let reach: BTreeMap<&str, BTreeSet<String>> = known
        .iter()
        .map(|name| (name.as_str(), reaches(name)))
        .collect();
    let reaches_from = |from: &str, to: &str| reach.get(from).is_some_and(|set| set.contains(to));
    let mut groups: BTreeSet<Vec<String>> = BTreeSet::new();
    for name in &known {
        let group: Vec<String> = known
            .iter()
            .filter(|other| {
                *other == name || reaches_from(name, other) && reaches_from(other, name)
            })
            .map(|other| {
                if other.is_empty() {
                    "crate".to_owned()
                } else {
                    other.clone()
                }
            })
            .collect();
        if group.len() > 1 {
            groups.insert(group);
        }
    }
    groups.into_iter().collect()
}

/// A module documentation line that points to a tracker number.
fn tracker_reference(module: &Module) -> Option<String> {
    module.text.lines().enumerate().find_map(|(number, line)| {
        let doc = line.trim_start().strip_prefix("//!")?;
        let lower = doc.to_lowercase();
        let (_, after) = lower.split_once("issue ")?;
        let digit = after.chars().next()?.is_ascii_digit();
        digit.then(|| {
            format!(
                "{}:{}: module documentation names a tracker number",
                module.file.display(),
                number + 1
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(path: &str, file: &str, text: &str) -> (String, Module) {
        let path_segments: Vec<String> = if path.is_empty() {
            Vec::new()
        } else {
            path.split("::").map(str::to_owned).collect()
        };
        (
            path.to_owned(),
            Module {
                file: PathBuf::from(file),
                path: path_segments,
                text: text.to_owned(),
            },
        )
    }

    #[test]
    fn use_trees_expand_to_every_path() {
        let found = paths("use crate::{a, b::{c, d as e}};\nlet x = super::f::g(); // crate::h");
        assert!(found.contains(&"crate::a".to_owned()), "{found:?}");
        assert!(found.contains(&"crate::b::c".to_owned()), "{found:?}");
        assert!(found.contains(&"super::f::g".to_owned()), "{found:?}");
    }

    #[test]
    fn modules_that_import_each_other_are_a_cycle_and_one_way_is_not() {
        let modules: BTreeMap<String, Module> = [
            module("", "lib.rs", "mod a; mod b; mod c;"),
            module("a", "a.rs", "use crate::b::thing;"),
            module("b", "b.rs", "use crate::a::other;\nuse crate::c;"),
            module("c", "c.rs", "pub fn leaf() {}"),
        ]
        .into_iter()
        .collect();
        assert_eq!(cycles(&modules), vec![vec!["a".to_owned(), "b".to_owned()]]);
        let one_way: BTreeMap<String, Module> = [
            module("", "lib.rs", "mod a; mod b;"),
            module("a", "a.rs", "use crate::b::thing;"),
            module("b", "b.rs", "// crate::a is named only in a comment"),
        ]
        .into_iter()
        .collect();
        assert!(cycles(&one_way).is_empty());
    }

    #[test]
    fn super_in_a_child_reaches_its_parent() {
        let modules: BTreeMap<String, Module> = [
            module("", "lib.rs", "mod j;"),
            module("j", "j/mod.rs", "mod k; pub use k::Step;"),
            module("j::k", "j/k.rs", "use super::helper;"),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            cycles(&modules),
            vec![vec!["j".to_owned(), "j::k".to_owned()]]
        );
    }

    #[test]
    fn a_tracker_number_in_module_documentation_is_found() {
        let (_, with) = module("a", "a.rs", "//! The journey (issue 4).\n");
        assert!(tracker_reference(&with).is_some());
        let (_, without) = module("a", "a.rs", "//! No issue here.\n// issue 4 in a comment\n");
        assert!(tracker_reference(&without).is_none());
    }

    #[test]
    fn the_workspace_keeps_its_shape() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let problems = check(&root).unwrap();
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}
