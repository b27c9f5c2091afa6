//! The README's code is real: its Kaggle-style script is `examples/kaggle.rs` verbatim and
//! its first model is `examples/quickstart.rs` from the `use` line on (CI builds and runs
//! the examples); the Kaggle script stays under 40 lines and the quickstart at most 25
//! counted lines (non-blank, non-comment), the length of its Keras twin.

fn read(path: &str) -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    std::fs::read_to_string(format!("{root}/{path}")).unwrap()
}

#[test]
fn readme_kaggle_script_is_the_example() {
    let readme = read("README.md");
    let script = read("examples/kaggle.rs");
    assert!(
        readme.contains(&format!("```rust\n{script}```\n")),
        "README.md must show examples/kaggle.rs verbatim in a ```rust block"
    );
    assert!(
        script.lines().count() < 40,
        "the script must stay under 40 lines"
    );
}

#[test]
fn readme_first_model_is_the_quickstart() {
    let readme = read("README.md");
    let example = read("examples/quickstart.rs");
    let body = &example[example
        .find("use stratanet::prelude::*;")
        .expect("quickstart imports the prelude")..];
    assert!(
        readme.contains(&format!("```rust\n{body}```\n")),
        "README.md must show examples/quickstart.rs (from its `use` line) in a ```rust block"
    );
    let counted = body
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with("//"))
        .count();
    assert!(
        counted <= 25,
        "the quickstart has {counted} counted lines; at most 25"
    );
}
