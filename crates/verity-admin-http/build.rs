//! Lists every template of `templates/console` for the console (`CONSOLE_TEMPLATES` in
//! `$OUT_DIR/console_templates.rs`, each file compiled in with `include_str!`), so that
//! adding a page touches no list.

use std::fmt::Write as _;
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest = std::env::var("CARGO_MANIFEST_DIR")?;
    let pages = Path::new(&manifest)
        .join("../../templates/console")
        .canonicalize()?;
    println!("cargo:rerun-if-changed={}", pages.display());
    let mut names: Vec<String> = std::fs::read_dir(&pages)?
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".html"))
        .collect();
    names.sort();
    let mut source = String::from(
        "/// Every console template: its name and its text.\npub(crate) const CONSOLE_TEMPLATES: &[(&str, &str)] = &[\n",
    );
    for name in names {
        let path = pages.join(&name);
        println!("cargo:rerun-if-changed={}", path.display());
        writeln!(
            source,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        )?;
    }
    source.push_str("];\n");
    std::fs::write(
        Path::new(&std::env::var("OUT_DIR")?).join("console_templates.rs"),
        source,
    )?;
    Ok(())
}
