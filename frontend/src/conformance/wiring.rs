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
            concat!(include_str!("nn/conv.rs"), include_str!("nn/pool.rs")),
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
        let defined: Vec<&str> = src
            .lines()
            .filter_map(|l| l.trim().strip_prefix("pub fn "))
            .filter_map(|l| l.strip_suffix("<B: Backend>() {"))
            .collect();
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
