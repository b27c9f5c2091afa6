//! The README's code is real: its Kaggle-style script is `examples/kaggle.rs` verbatim (which
//! CI builds), and stays under 40 lines.

#[test]
fn readme_kaggle_script_is_the_example() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let script = std::fs::read_to_string(format!("{root}/examples/kaggle.rs")).unwrap();
    assert!(
        readme.contains(&format!("```rust\n{script}```\n")),
        "README.md must show examples/kaggle.rs verbatim in a ```rust block"
    );
    assert!(
        script.lines().count() < 40,
        "the script must stay under 40 lines"
    );
}
