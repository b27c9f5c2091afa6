//! Self-test of the suite: every test function of a family file is listed in
//! `backend_conformance_tests!`, and every listed name exists.

/// Every `pub fn name<B: Backend>()` in a family file must be listed under that family in
/// `backend_conformance_tests!`, and every listed name must exist.
#[test]
fn every_test_is_wired_into_the_macro() {
    let macro_src = include_str!("suite.rs");
    let families: &[(&str, &str)] = &[
        ("base", include_str!("base.rs")),
        ("creation", include_str!("creation.rs")),
        ("shape", include_str!("shape.rs")),
        ("math", include_str!("math.rs")),
        ("compare", include_str!("compare.rs")),
        ("reduce", include_str!("reduce.rs")),
        ("linalg", include_str!("linalg.rs")),
        (
            "nn",
            concat!(
                include_str!("nn/conv.rs"),
                include_str!("nn/nhwc.rs"),
                include_str!("nn/pool.rs")
            ),
        ),
        ("autograd", include_str!("autograd.rs")),
        ("composite", include_str!("composite.rs")),
        ("rnn", include_str!("rnn.rs")),
        ("optim", include_str!("optim.rs")),
    ];
    // The macro's body with whitespace removed: `$crate::__conformance_family!($backend,
    // $device,family,[a,b,]);` per family.
    let body: String = macro_src[macro_src
        .find("macro_rules! backend_conformance_tests")
        .unwrap()..]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    for (family, src) in families {
        let key = format!("__conformance_family!($backend,$device,{family},[");
        let start = body
            .find(&key)
            .unwrap_or_else(|| panic!("family {family} missing from the macro"))
            + key.len();
        let end = start + body[start..].find(']').unwrap();
        let listed: Vec<&str> = body[start..end]
            .split(',')
            .filter(|s| !s.is_empty())
            .collect();
        let mut defined: Vec<&str> = src
            .lines()
            .filter_map(|l| l.trim().strip_prefix("pub fn "))
            .filter_map(|l| l.strip_suffix("<B: Backend>() {"))
            .filter(|name| !name.starts_with('$'))
            .collect();
        defined.extend(case_macro_tests(src));
        for name in &defined {
            assert!(
                listed.contains(name),
                "{family}::{name} is not in the macro"
            );
        }
        for name in &listed {
            assert!(
                defined.contains(name),
                "{family}::{name} is listed but not defined"
            );
        }
    }
}

/// The tests a `binary_cases! { name: op a, b => want; … }` invocation in a family file
/// generates: one per row, named by the text before the row's `:`.
fn case_macro_tests(src: &str) -> Vec<&str> {
    let mut names = Vec::new();
    for (at, _) in src.match_indices("\nbinary_cases! {") {
        let body = &src[at..];
        let end = body.find("\n}").unwrap_or(body.len());
        names.extend(
            body[..end]
                .lines()
                .skip(1)
                .map(str::trim)
                .filter(|l| !l.starts_with("//"))
                .filter_map(|l| l.split_once(':').map(|(name, _)| name.trim())),
        );
    }
    names
}

#[test]
fn case_macro_rows_count_as_tests() {
    let src = "x\nbinary_cases! {\n    /// doc\n    add_values: add [1.0], [2.0] => [3.0];\n    sub_values: sub [1.0], [2.0] => [-1.0];\n}\n";
    assert_eq!(case_macro_tests(src), vec!["add_values", "sub_values"]);
}
