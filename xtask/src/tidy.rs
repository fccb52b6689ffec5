//! `cargo xtask tidy`: the shape rules a reviewer would otherwise check by hand, run as
//! a test too (so `cargo xtask test` enforces them).
//!
//! - No two modules of a crate import each other, directly or through others: each
//!   request's path runs one way down; a parent and its child count too (a parent
//!   that calls `child::run` while the child uses `super::helper`). A module is a file;
//!   its imports are the `crate::`, `super::`, `self::` and `child::` paths its build
//!   uses (in `use` declarations, re-exports and code; not in comments, literals or
//!   `#[cfg(test)]` items), resolved to the longest module they reach. Siblings count
//!   with everything under them too: a folder's files together are one module to the
//!   folder's siblings.
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
        for cycle in sibling_cycles(&modules) {
            problems.push(format!(
                "{}: modules import each other through what is under them: {}",
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
    let own = module.path.join("::");
    let mut found = BTreeSet::new();
    for path in paths(&build_code(&module.text)) {
        let mut segments: Vec<&str> = path.split("::").collect();
        let mut resolved: Vec<String> = match segments.first().copied() {
            Some("crate") => Vec::new(),
            Some("self") => module.path.clone(),
            Some("super") => parent.clone(),
            // `child::f()` or `use child::Item;`: a path relative to the module that
            // starts with one of its children.
            Some(first) if known.contains(&child_of(&own, first)) => {
                segments.insert(0, "self");
                module.path.clone()
            }
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
        if longest != own && known.contains(&longest) {
            found.insert(longest);
        }
    }
    found
}

/// The module path of `parent`'s child `name`.
fn child_of(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}::{name}")
    }
}

/// The code a module's build uses: without comments (documentation names modules
/// without importing them), without the text of string and character literals, and
/// without the items marked `#[cfg(test)]` (a module's tests may drive it through the
/// modules above it), whatever follows them.
fn build_code(text: &str) -> String {
    without_test_items(&without_comments_and_literals(text))
}

/// The text with every comment removed and every string or character literal emptied.
fn without_comments_and_literals(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut code = String::with_capacity(text.len());
    let mut index = 0;
    while let Some(&character) = chars.get(index) {
        let next = chars.get(index + 1).copied();
        if character == '/' && next == Some('/') {
            while chars.get(index).is_some_and(|&c| c != '\n') {
                index += 1;
            }
        } else if character == '/' && next == Some('*') {
            index = block_comment_end(&chars, index);
            code.push(' ');
        } else if character == '"' {
            index = string_end(&chars, index + 1);
            code.push_str("\"\"");
        } else if let Some(end) = raw_string_end(&chars, index) {
            index = end;
            code.push_str("\"\"");
        } else if character == '\'' {
            // A character literal (`'x'`, `'\n'`, `'\u{41}'`) or a lifetime (`'a`).
            if next == Some('\\') {
                index += 3;
                while chars.get(index).is_some_and(|&c| c != '\'') {
                    index += 1;
                }
                index += 1;
                code.push(' ');
            } else if chars.get(index + 2) == Some(&'\'') {
                index += 3;
                code.push(' ');
            } else {
                code.push(character);
                index += 1;
            }
        } else {
            code.push(character);
            index += 1;
        }
    }
    code
}

/// The index after the block comment that starts at `start` (they nest).
fn block_comment_end(chars: &[char], start: usize) -> usize {
    let mut depth = 0usize;
    let mut index = start;
    while index < chars.len() {
        let pair = (chars.get(index).copied(), chars.get(index + 1).copied());
        if pair == (Some('/'), Some('*')) {
            depth += 1;
            index += 2;
        } else if pair == (Some('*'), Some('/')) {
            depth = depth.saturating_sub(1);
            index += 2;
            if depth == 0 {
                return index;
            }
        } else {
            index += 1;
        }
    }
    index
}

/// The index after the closing quote of a string whose text starts at `start`.
fn string_end(chars: &[char], start: usize) -> usize {
    let mut index = start;
    while let Some(&character) = chars.get(index) {
        match character {
            '\\' => index += 2,
            '"' => return index + 1,
            _ => index += 1,
        }
    }
    index
}

/// When a raw string (`r"…"`, `r#"…"#`, `br"…"`) starts at `start`, the index after it.
fn raw_string_end(chars: &[char], start: usize) -> Option<usize> {
    let at = |index: usize| chars.get(index).copied();
    let before = start.checked_sub(1).and_then(at);
    let starts_word = |index: Option<usize>| {
        index
            .and_then(|index| chars.get(index).copied())
            .is_none_or(|c| !is_ident(c))
    };
    let prefix_starts_word = match before {
        Some('b') => starts_word(start.checked_sub(2)),
        _ => starts_word(start.checked_sub(1)),
    };
    if at(start) != Some('r') || !prefix_starts_word {
        return None;
    }
    let mut index = start + 1;
    let mut hashes = 0usize;
    while at(index) == Some('#') {
        hashes += 1;
        index += 1;
    }
    if at(index) != Some('"') {
        return None;
    }
    index += 1;
    while index < chars.len() {
        if at(index) == Some('"') && (1..=hashes).all(|offset| at(index + offset) == Some('#')) {
            return Some(index + 1 + hashes);
        }
        index += 1;
    }
    Some(index)
}

/// The code without each item marked `#[cfg(test)]` (a `mod tests { … }`, a function, a
/// `use`): the attribute, any attributes after it and the item up to its `;` or the end
/// of its braces. Takes code without comments or literals.
fn without_test_items(code: &str) -> String {
    const MARK: &str = "#[cfg(test)]";
    let mut kept = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find(MARK) {
        kept.push_str(rest.get(..at).unwrap_or_default());
        let after = rest.get(at + MARK.len()..).unwrap_or_default();
        rest = after.get(item_length(after)..).unwrap_or_default();
    }
    kept.push_str(rest);
    kept
}

/// The length of the item at the start of `code`, with the attributes before it: up to
/// its `;` or the `}` that closes its first `{`.
fn item_length(code: &str) -> usize {
    let mut depth = 0usize;
    let mut in_braces = false;
    for (index, character) in code.char_indices() {
        match character {
            '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.saturating_sub(1),
            '{' => {
                depth += 1;
                in_braces = true;
            }
            '}' => {
                depth = depth.saturating_sub(1);
                if in_braces && depth == 0 {
                    return index + 1;
                }
            }
            ';' if depth == 0 => return index + 1,
            _ => {}
        }
    }
    code.len()
}

/// Every path of two segments or more in the code (`crate::a::b`, `super::x`,
/// `child::f`, `serde::Serialize`), with `use` trees (`crate::{a, b::{c, d}}`)
/// expanded. A path's own segments are never read as paths of their own.
fn paths(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut found = Vec::new();
    let mut index = 0;
    while let Some(&character) = chars.get(index) {
        let before = index.checked_sub(1).and_then(|at| chars.get(at)).copied();
        // A path starts a word, not after `.` (a method's turbofish), `::` or `'`; nor
        // after `$` (a macro's `$crate::` names the crate where the macro expands).
        let starts = (character.is_alphabetic() || character == '_')
            && before.is_none_or(|before| {
                !is_ident(before) && !matches!(before, ':' | '.' | '\'' | '$')
            });
        if starts {
            let (tree, end) = read_tree(&chars, index);
            if tree.contains("::") {
                found.extend(expand(&tree));
            }
            index = end.max(index + 1);
        } else {
            index += 1;
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
        // Inside braces a space is kept only where it separates words (`a as b`).
        if !character.is_whitespace() {
            tree.push(character);
        } else if tree.ends_with(is_ident) {
            tree.push(' ');
        }
        index += 1;
    }
    (tree, index)
}

/// `a::{b, c::{d}}` into `a::b`, `a::c::d`; `a::b as c` keeps `a::b`.
fn expand(tree: &str) -> Vec<String> {
    let Some((prefix, rest)) = tree.split_once('{') else {
        let renamed = tree.split(" as ").next().unwrap_or_default();
        return vec![renamed.trim().trim_end_matches("::").to_owned()];
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
        .iter()
        .map(|part| part.trim())
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
    let edges: BTreeMap<String, BTreeSet<String>> = modules
        .iter()
        .map(|(name, module)| (name.clone(), imports(module, &known)))
        .collect();
    reaching_each_other(&edges)
}

/// The groups of sibling modules that reach each other counting each with everything
/// under it: a directory module is one module to its siblings, so two folders cannot
/// lean on each other through different files (`a/x.rs` using `b`, `b/y.rs` using `a`).
fn sibling_cycles(modules: &BTreeMap<String, Module>) -> Vec<Vec<String>> {
    let known: BTreeSet<String> = modules.keys().cloned().collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for module in modules.values() {
        for target in imports(module, &known) {
            let to: Vec<&str> = target.split("::").filter(|s| !s.is_empty()).collect();
            let common = module
                .path
                .iter()
                .zip(&to)
                .take_while(|(from, to)| from.as_str() == **to)
                .count();
            // Only between two children of the module both sit under: a module and its
            // own parent or child is the file-level rule's.
            if let (Some(from), Some(to)) = (module.path.get(..=common), to.get(..=common)) {
                edges
                    .entry(from.join("::"))
                    .or_default()
                    .insert(to.join("::"));
            }
        }
    }
    reaching_each_other(&edges)
}

/// The strongly connected components of more than one node of a directed graph.
fn reaching_each_other(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let known: BTreeSet<String> = edges
        .iter()
        .flat_map(|(from, to)| std::iter::once(from).chain(to))
        .cloned()
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
        assert!(found.contains(&"crate::b::d".to_owned()), "{found:?}");
        assert!(found.contains(&"super::f::g".to_owned()), "{found:?}");
        let in_code = paths("match x { A => child::run(y).await, B => Vec::<u8>::new() }");
        assert!(in_code.contains(&"child::run".to_owned()), "{in_code:?}");
        let in_tree = paths("use other_crate::{child::X, y};");
        assert!(!in_tree.contains(&"child::X".to_owned()), "{in_tree:?}");
    }

    #[test]
    fn comments_literals_and_test_items_are_not_code() {
        let code = build_code(concat!(
            "use crate::a; /* crate::b */ let s = \"crate::c\"; let r = r#\"crate::d\"#;\n",
            "let c = '{'; let l: &'static str = \"\"; $crate::h::X;\n",
            "#[cfg(test)]\nmod tests {\n    use crate::e;\n    fn f() { let g = '}'; }\n}\n",
            "#[cfg(test)]\nuse crate::f;\n",
            "pub use crate::g;\n",
        ));
        let found = paths(&code);
        assert_eq!(found, vec!["crate::a".to_owned(), "crate::g".to_owned()]);
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
    fn a_parent_dispatching_to_a_child_that_uses_its_helpers_is_a_cycle() {
        let modules: BTreeMap<String, Module> = [
            module("", "main.rs", "mod commands;"),
            module(
                "commands",
                "commands/mod.rs",
                "mod org;\npub fn run() { org::run() }\nfn print_json() {}",
            ),
            module("commands::org", "commands/org.rs", "use super::print_json;"),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            cycles(&modules),
            vec![vec!["commands".to_owned(), "commands::org".to_owned()]]
        );
    }

    #[test]
    fn two_folders_leaning_on_each_other_through_different_files_are_a_cycle() {
        let modules: BTreeMap<String, Module> = [
            module("", "lib.rs", "mod account; mod signin;"),
            module(
                "account",
                "account.rs",
                "use crate::signin::password::check;",
            ),
            module("signin", "signin/mod.rs", "mod password; mod code;"),
            module(
                "signin::password",
                "signin/password.rs",
                "pub fn check() {}",
            ),
            module(
                "signin::code",
                "signin/code.rs",
                "use crate::account::step;",
            ),
        ]
        .into_iter()
        .collect();
        assert!(
            cycles(&modules).is_empty(),
            "no two files import each other"
        );
        assert_eq!(
            sibling_cycles(&modules),
            vec![vec!["account".to_owned(), "signin".to_owned()]]
        );
        let one_way: BTreeMap<String, Module> = [
            module("", "lib.rs", "mod account; mod signin;"),
            module("account", "account.rs", "pub fn step() {}"),
            module("signin", "signin/mod.rs", "mod code;"),
            module(
                "signin::code",
                "signin/code.rs",
                "use crate::account::step;",
            ),
        ]
        .into_iter()
        .collect();
        assert!(sibling_cycles(&one_way).is_empty());
    }

    #[test]
    fn a_child_using_only_a_leaf_sibling_is_not_a_cycle() {
        let modules: BTreeMap<String, Module> = [
            module("", "main.rs", "mod commands;"),
            module(
                "commands",
                "commands/mod.rs",
                "mod org; mod output;\npub fn run() { org::run() }",
            ),
            module(
                "commands::org",
                "commands/org.rs",
                "use super::output::print_json;",
            ),
            module(
                "commands::output",
                "commands/output.rs",
                "pub fn print_json() {}",
            ),
        ]
        .into_iter()
        .collect();
        assert!(cycles(&modules).is_empty(), "{:?}", cycles(&modules));
    }

    #[test]
    fn code_after_the_tests_still_counts_and_the_tests_do_not() {
        let modules: BTreeMap<String, Module> = [
            module("", "lib.rs", "mod a; mod b;"),
            module(
                "a",
                "a.rs",
                "#[cfg(test)]\nmod tests {\n    use crate::b;\n}\npub use crate::b::Thing;",
            ),
            module(
                "b",
                "b.rs",
                "pub struct Thing;\n#[cfg(test)]\nmod tests {\n    use crate::a;\n}",
            ),
        ]
        .into_iter()
        .collect();
        assert!(cycles(&modules).is_empty(), "{:?}", cycles(&modules));
        let known: BTreeSet<String> = modules.keys().cloned().collect();
        let a = modules.get("a").map(|a| imports(a, &known));
        assert_eq!(a, Some(BTreeSet::from(["b".to_owned()])));
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
