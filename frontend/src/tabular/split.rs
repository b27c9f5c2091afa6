//! Seeded row splits: train/validation/test fractions, stratified by a label column, and
//! (stratified) k-fold cross-validation. Index-based, so they apply to a [`Table`], to host
//! arrays or to tensors (through `index_select`) alike; the shuffles come from
//! [`Rng`](crate::random::Rng), so a seed gives the same split on every engine and machine.

use std::collections::HashMap;

use super::table::{Column, Table};
use crate::error::{Error, Result};
use crate::random::Rng;

/// `(train, validation)` row indices of one cross-validation fold.
pub type Fold = (Vec<usize>, Vec<usize>);

/// Checks `fractions` (each in `(0, 1]`, summing to 1 within `1e-6`).
fn check_fractions(context: &str, fractions: &[f64]) -> Result<()> {
    if fractions.is_empty() {
        return Err(Error::invalid(context, "fractions", "no fractions given"));
    }
    if let Some(f) = fractions.iter().find(|f| !(**f > 0.0 && **f <= 1.0)) {
        return Err(Error::invalid(
            context,
            "fractions",
            format!("{f} in {fractions:?} is not in (0, 1]"),
        ));
    }
    let sum: f64 = fractions.iter().sum();
    if (sum - 1.0).abs() > 1e-6 {
        return Err(Error::invalid(
            context,
            "fractions",
            format!("{fractions:?} sums to {sum}, not 1"),
        ));
    }
    Ok(())
}

/// Largest-remainder apportionment of `n` items to `fractions` (counts within 1 of
/// `n * f`, summing to `n`); ties go to the earlier part.
fn apportion(n: usize, fractions: &[f64]) -> Vec<usize> {
    let exact: Vec<f64> = fractions.iter().map(|f| n as f64 * f).collect();
    let mut counts: Vec<usize> = exact.iter().map(|e| e.floor() as usize).collect();
    let assigned: usize = counts.iter().sum();
    let mut order: Vec<usize> = (0..fractions.len()).collect();
    order.sort_by(|&a, &b| {
        let (ra, rb) = (exact[a] - exact[a].floor(), exact[b] - exact[b].floor());
        rb.total_cmp(&ra).then(a.cmp(&b))
    });
    for &i in order.iter().take(n.saturating_sub(assigned)) {
        counts[i] += 1;
    }
    counts
}

fn check_non_empty(context: &str, parts: &[Vec<usize>], n: usize, fractions: &[f64]) -> Result<()> {
    if let Some(i) = parts.iter().position(Vec::is_empty) {
        return Err(Error::invalid(
            context,
            "fractions",
            format!("part {i} of {fractions:?} is empty for {n} rows"),
        ));
    }
    Ok(())
}

/// Splits the rows `0..n` into parts of the given fractions (e.g. `[0.7, 0.15, 0.15]`) after
/// a seeded shuffle. Part sizes are `n * f` rounded so that they sum to `n` (largest
/// remainder); each part's indices are in shuffled order.
///
/// ```
/// use stratanet::tabular::split_indices;
/// # fn main() -> stratanet::Result<()> {
/// let parts = split_indices(10, &[0.7, 0.15, 0.15], 0)?;
/// assert_eq!(parts.iter().map(Vec::len).collect::<Vec<_>>(), [7, 2, 1]);
/// let mut all: Vec<usize> = parts.concat();
/// all.sort();
/// assert_eq!(all, (0..10).collect::<Vec<_>>());
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] for a fraction outside `(0, 1]`, fractions not summing to 1,
/// or a part that would be empty.
pub fn split_indices(n: usize, fractions: &[f64], seed: u64) -> Result<Vec<Vec<usize>>> {
    const CTX: &str = "split_indices";
    check_fractions(CTX, fractions)?;
    let perm = Rng::new(seed).permutation(n);
    let mut parts = Vec::with_capacity(fractions.len());
    let mut start = 0;
    for c in apportion(n, fractions) {
        parts.push(perm[start..start + c].to_vec());
        start += c;
    }
    check_non_empty(CTX, &parts, n, fractions)?;
    Ok(parts)
}

/// Row indices of each class of a label column (`Int` or `Str`), classes in order of first
/// appearance.
fn classes(context: &str, labels: &Column) -> Result<Vec<Vec<usize>>> {
    fn group<K: std::hash::Hash + Eq>(
        context: &str,
        values: impl Iterator<Item = Option<K>>,
    ) -> Result<Vec<Vec<usize>>> {
        let mut index: HashMap<K, usize> = HashMap::new();
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for (r, v) in values.enumerate() {
            let v = v.ok_or_else(|| {
                Error::invalid(
                    context,
                    "labels",
                    format!("missing label at row {r} (0-based); drop those rows first"),
                )
            })?;
            let next = groups.len();
            let g = *index.entry(v).or_insert(next);
            if g == next {
                groups.push(Vec::new());
            }
            groups[g].push(r);
        }
        Ok(groups)
    }
    match labels {
        Column::Int(v) => group(context, v.iter().copied()),
        Column::Str(v) => group(context, v.iter().map(|s| s.as_deref())),
        Column::Float(_) => Err(Error::invalid(
            context,
            "labels",
            "a float column cannot be a class label; use an int or str column",
        )),
    }
}

/// Like [`split_indices`], but every class of `labels` (an `Int` or `Str` column) keeps its
/// proportion in every part: the number of rows of a class in a part differs from
/// `class_count * fraction` by less than 1. Rounding is balanced across classes so that
/// part sizes stay close to `n * fraction`. Each part's indices are in shuffled order.
///
/// ```
/// use stratanet::tabular::{stratified_split_indices, Column};
/// # fn main() -> stratanet::Result<()> {
/// let labels = Column::ints((0..100).map(|i| i64::from(i % 10 == 0)).collect());
/// let parts = stratified_split_indices(&labels, &[0.8, 0.2], 7)?;
/// let ones = |p: &Vec<usize>| p.iter().filter(|&&i| i % 10 == 0).count();
/// assert_eq!((ones(&parts[0]), ones(&parts[1])), (8, 2));
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] for bad fractions (as [`split_indices`]), a `Float` label
/// column, a missing label, or an empty part.
pub fn stratified_split_indices(
    labels: &Column,
    fractions: &[f64],
    seed: u64,
) -> Result<Vec<Vec<usize>>> {
    const CTX: &str = "stratified_split_indices";
    check_fractions(CTX, fractions)?;
    let groups = classes(CTX, labels)?;
    let n = labels.len();
    let k = fractions.len();
    let mut rng = Rng::new(seed);
    let mut parts: Vec<Vec<usize>> = vec![Vec::new(); k];
    for members in groups {
        let nc = members.len();
        let perm = rng.permutation(nc);
        let exact: Vec<f64> = fractions.iter().map(|f| nc as f64 * f).collect();
        let mut counts: Vec<usize> = exact.iter().map(|e| e.floor() as usize).collect();
        let extra = nc - counts.iter().sum::<usize>();
        // The `extra` rows go, one each, to parts whose exact share has a fractional part
        // (so every count stays within 1 of exact), preferring parts furthest below their
        // overall target so far.
        let mut order: Vec<usize> = (0..k)
            .filter(|&i| exact[i] - exact[i].floor() > 1e-9)
            .collect();
        order.sort_by(|&a, &b| {
            let need = |i: usize| {
                fractions[i] * (parts.iter().map(Vec::len).sum::<usize>() + nc) as f64
                    - (parts[i].len() + counts[i]) as f64
            };
            need(b).total_cmp(&need(a)).then(a.cmp(&b))
        });
        for &i in order.iter().take(extra) {
            counts[i] += 1;
        }
        let mut start = 0;
        for (part, c) in parts.iter_mut().zip(counts) {
            part.extend(perm[start..start + c].iter().map(|&p| members[p]));
            start += c;
        }
    }
    for part in &mut parts {
        let perm = rng.permutation(part.len());
        *part = perm.into_iter().map(|p| part[p]).collect();
    }
    check_non_empty(CTX, &parts, n, fractions)?;
    Ok(parts)
}

fn check_k(context: &str, n: usize, k: usize) -> Result<()> {
    if k < 2 || k > n {
        return Err(Error::invalid(
            context,
            "k",
            format!("{k} folds for {n} rows; need 2 <= k <= n"),
        ));
    }
    Ok(())
}

/// Folds from an assignment of every row to a fold; indices ascending (as scikit-learn).
fn folds_from(fold_of: &[usize], k: usize) -> Vec<Fold> {
    (0..k)
        .map(|f| {
            let (val, train): (Vec<usize>, Vec<usize>) =
                (0..fold_of.len()).partition(|&r| fold_of[r] == f);
            (train, val)
        })
        .collect()
}

/// K-fold cross-validation as scikit-learn's `KFold`: `k` `(train, validation)` pairs where
/// every row is in exactly one validation fold and fold sizes differ by at most 1 (the first
/// `n % k` folds are one larger). Without `shuffle` the folds are consecutive blocks;
/// with `Some(seed)` the rows are shuffled first. Indices within a fold are ascending.
///
/// ```
/// use stratanet::tabular::kfold_indices;
/// # fn main() -> stratanet::Result<()> {
/// let folds = kfold_indices(5, 2, None)?;
/// assert_eq!(folds[0], (vec![3, 4], vec![0, 1, 2]));
/// assert_eq!(folds[1], (vec![0, 1, 2], vec![3, 4]));
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] unless `2 <= k <= n`.
pub fn kfold_indices(n: usize, k: usize, shuffle: Option<u64>) -> Result<Vec<Fold>> {
    check_k("kfold_indices", n, k)?;
    let order = match shuffle {
        Some(seed) => Rng::new(seed).permutation(n),
        None => (0..n).collect(),
    };
    let mut fold_of = vec![0; n];
    let mut start = 0;
    for f in 0..k {
        let size = n / k + usize::from(f < n % k);
        for &r in &order[start..start + size] {
            fold_of[r] = f;
        }
        start += size;
    }
    Ok(folds_from(&fold_of, k))
}

/// Stratified k-fold cross-validation: like [`kfold_indices`] (shuffled with `seed`, every
/// row in exactly one validation fold, fold sizes differing by at most 1), and every class
/// of `labels` (an `Int` or `Str` column) has `floor` or `ceil` of `class_count / k` rows in
/// each validation fold. Indices within a fold are ascending.
///
/// ```
/// use stratanet::tabular::{stratified_kfold_indices, Column};
/// # fn main() -> stratanet::Result<()> {
/// let labels = Column::strs(&["a", "a", "a", "b", "b", "b"]);
/// for (train, val) in stratified_kfold_indices(&labels, 3, 0)? {
///     assert_eq!((train.len(), val.len()), (4, 2));
///     assert_eq!(val.iter().filter(|&&i| i < 3).count(), 1); // one "a", one "b"
/// }
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] unless `2 <= k <= n`, for a `Float` label column or a missing
/// label.
pub fn stratified_kfold_indices(labels: &Column, k: usize, seed: u64) -> Result<Vec<Fold>> {
    const CTX: &str = "stratified_kfold_indices";
    let n = labels.len();
    check_k(CTX, n, k)?;
    let groups = classes(CTX, labels)?;
    let mut rng = Rng::new(seed);
    // Deal the classes' shuffled rows round-robin, one class after another: each class's
    // rows are spread evenly, and so is the whole sequence. The deal starts at a random fold
    // so that the larger folds are not always the first ones.
    let offset = rng.below(k as u64) as usize;
    let mut fold_of = vec![0; n];
    let mut j = offset;
    for members in groups {
        for p in rng.permutation(members.len()) {
            fold_of[members[p]] = j % k;
            j += 1;
        }
    }
    Ok(folds_from(&fold_of, k))
}

impl Table {
    /// The rows split into tables of the given fractions after a seeded shuffle (see
    /// [`split_indices`]).
    ///
    /// ```
    /// use stratanet::tabular::{Column, Table};
    /// # fn main() -> stratanet::Result<()> {
    /// let t = Table::new(vec![("x".into(), Column::ints((0..20).collect()))])?;
    /// let parts = t.split(&[0.5, 0.25, 0.25], 42)?;
    /// assert_eq!(parts.iter().map(Table::n_rows).collect::<Vec<_>>(), [10, 5, 5]);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`split_indices`].
    pub fn split(&self, fractions: &[f64], seed: u64) -> Result<Vec<Table>> {
        Ok(split_indices(self.n_rows(), fractions, seed)?
            .iter()
            .map(|idx| self.take(idx))
            .collect())
    }

    /// The rows split into tables of the given fractions, each class of column `label`
    /// (`Int` or `Str`) keeping its proportion (see [`stratified_split_indices`]).
    ///
    /// # Errors
    /// [`Error::UnknownName`] for an unknown column; otherwise as
    /// [`stratified_split_indices`].
    pub fn stratified_split(
        &self,
        label: &str,
        fractions: &[f64],
        seed: u64,
    ) -> Result<Vec<Table>> {
        Ok(
            stratified_split_indices(self.column(label)?, fractions, seed)?
                .iter()
                .map(|idx| self.take(idx))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(mut v: Vec<usize>) -> Vec<usize> {
        v.sort_unstable();
        v
    }

    /// `folds` (train, validation) of `n` rows: the validation folds cover every row once
    /// with sizes at most one apart, and each train part holds the other `n - len` rows.
    fn check_folds(folds: &[Fold], n: usize) {
        let vals: Vec<usize> = folds.iter().flat_map(|(_, v)| v.clone()).collect();
        assert_eq!(sorted(vals), (0..n).collect::<Vec<_>>());
        let sizes: Vec<usize> = folds.iter().map(|(_, v)| v.len()).collect();
        assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1);
        for (train, val) in folds {
            assert_eq!(train.len() + val.len(), n);
            assert!(train.iter().all(|i| !val.contains(i)));
        }
    }

    #[test]
    fn split_is_a_seeded_partition() {
        for n in [7usize, 10, 101, 1000] {
            let parts = split_indices(n, &[0.7, 0.15, 0.15], 3).unwrap();
            assert_eq!(sorted(parts.concat()), (0..n).collect::<Vec<_>>());
            for (p, f) in parts.iter().zip([0.7, 0.15, 0.15]) {
                assert!((p.len() as f64 - n as f64 * f).abs() < 1.0, "n={n}");
            }
            assert_eq!(parts, split_indices(n, &[0.7, 0.15, 0.15], 3).unwrap());
            assert_ne!(parts, split_indices(n, &[0.7, 0.15, 0.15], 4).unwrap());
        }
        assert_eq!(apportion(10, &[0.7, 0.15, 0.15]), [7, 2, 1]);
        assert_eq!(apportion(7, &[0.5, 0.5]), [4, 3]);
    }

    #[test]
    fn split_errors() {
        let msg = |r: Result<Vec<Vec<usize>>>| r.unwrap_err().to_string();
        assert!(msg(split_indices(10, &[0.5, 0.6], 0)).contains("sums to 1.1"));
        assert!(msg(split_indices(10, &[1.5, -0.5], 0)).contains("not in (0, 1]"));
        assert!(msg(split_indices(10, &[], 0)).contains("no fractions"));
        assert!(msg(split_indices(2, &[0.8, 0.1, 0.1], 0)).contains("part 1 of"));
        let f = Column::floats(vec![1.0, 2.0]);
        assert!(msg(stratified_split_indices(&f, &[0.5, 0.5], 0)).contains("float column"));
        let m = Column::Int(vec![Some(1), None, Some(0)]);
        assert!(msg(stratified_split_indices(&m, &[0.5, 0.5], 0)).contains("row 1"));
    }

    #[test]
    fn stratified_split_keeps_class_proportions() {
        // 5 classes of very different sizes
        let sizes = [1usize, 7, 33, 100, 259];
        let labels: Vec<i64> = sizes
            .iter()
            .enumerate()
            .flat_map(|(c, &s)| std::iter::repeat_n(c as i64, s))
            .collect();
        // interleave the rows so classes are not contiguous
        let perm = Rng::new(99).permutation(labels.len());
        let labels: Vec<i64> = perm.iter().map(|&p| labels[p]).collect();
        let n = labels.len();
        let col = Column::ints(labels.clone());
        for fr in [
            vec![0.7, 0.15, 0.15],
            vec![0.8, 0.2],
            vec![0.5, 0.3, 0.1, 0.1],
        ] {
            let parts = stratified_split_indices(&col, &fr, 11).unwrap();
            assert_eq!(sorted(parts.concat()), (0..n).collect::<Vec<_>>());
            for (p, f) in parts.iter().zip(&fr) {
                for (c, &s) in sizes.iter().enumerate() {
                    let got = p.iter().filter(|&&i| labels[i] == c as i64).count();
                    assert!((got as f64 - s as f64 * f).abs() < 1.0, "class {c} {fr:?}");
                }
                // balanced rounding keeps part sizes close too
                assert!((p.len() as f64 - n as f64 * f).abs() < 2.0, "{fr:?}");
            }
        }
        // string labels give the same partition as the equivalent int labels
        let names = ["a", "b", "c", "d", "e"];
        let s = Column::Str(
            labels
                .iter()
                .map(|&l| Some(names[l as usize].to_string()))
                .collect(),
        );
        assert_eq!(
            stratified_split_indices(&s, &[0.8, 0.2], 5).unwrap(),
            stratified_split_indices(&col, &[0.8, 0.2], 5).unwrap()
        );
    }

    #[test]
    fn kfold_covers_every_row_once() {
        for (n, k) in [(10usize, 3usize), (11, 5), (100, 10), (7, 7)] {
            for shuffle in [None, Some(5)] {
                let folds = kfold_indices(n, k, shuffle).unwrap();
                assert_eq!(folds.len(), k);
                check_folds(&folds, n);
            }
        }
        // scikit-learn KFold(n_splits=3) on 10 rows: test folds [0..4), [4..7), [7..10)
        let folds = kfold_indices(10, 3, None).unwrap();
        assert_eq!(folds[0].1, [0, 1, 2, 3]);
        assert_eq!(folds[1].1, [4, 5, 6]);
        assert_eq!(folds[2].1, [7, 8, 9]);
        assert!(kfold_indices(5, 1, None).is_err());
        assert!(kfold_indices(5, 6, None)
            .unwrap_err()
            .to_string()
            .contains("6 folds for 5 rows"));
    }

    #[test]
    fn stratified_kfold_balances_classes_and_folds() {
        let sizes = [3usize, 10, 25, 62];
        let labels: Vec<i64> = sizes
            .iter()
            .enumerate()
            .flat_map(|(c, &s)| std::iter::repeat_n(c as i64 * 10, s))
            .collect();
        let n = labels.len();
        let col = Column::ints(labels.clone());
        for k in [2usize, 3, 5, 7] {
            let folds = stratified_kfold_indices(&col, k, 1).unwrap();
            check_folds(&folds, n);
            for (_, val) in &folds {
                for (c, &s) in sizes.iter().enumerate() {
                    let got = val.iter().filter(|&&i| labels[i] == c as i64 * 10).count();
                    assert!(
                        (got as f64 - s as f64 / k as f64).abs() < 1.0,
                        "k={k} c={c}"
                    );
                }
            }
        }
    }

    #[test]
    fn table_splits() {
        let t = Table::new(vec![
            ("id".into(), Column::ints((0..40).collect())),
            (
                "y".into(),
                Column::Str(
                    (0..40)
                        .map(|i| Some(if i < 10 { "x" } else { "o" }.into()))
                        .collect(),
                ),
            ),
        ])
        .unwrap();
        let parts = t.stratified_split("y", &[0.5, 0.5], 2).unwrap();
        for p in &parts {
            assert_eq!(p.n_rows(), 20);
            let y = p.column("y").unwrap().as_str().unwrap();
            assert_eq!(y.iter().filter(|v| **v == Some("x")).count(), 5);
        }
        let plain = t.split(&[0.75, 0.25], 2).unwrap();
        assert_eq!((plain[0].n_rows(), plain[1].n_rows()), (30, 10));
        assert!(t.stratified_split("nope", &[0.5, 0.5], 0).is_err());
    }
}
