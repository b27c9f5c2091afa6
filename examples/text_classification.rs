//! Text classification: spam or not, for 5,574 real SMS messages (the SMS Spam Collection,
//! bundled in `data/sms-spam/`; see its README for the source and licence).
//!
//! ```text
//! cargo run --release --example text_classification
//! cargo run --release --features tch --example text_classification -- --backend tch
//! cargo run --release --features tch --example text_classification -- --backend tch --device cuda
//! ```
//!
//! A bag-of-words model, as in Keras: `TextVectorization` (unigrams and bigrams, tf-idf,
//! the 10,000 most frequent, adapted on the training messages only) turns each message into
//! a row of weights on the host, and a small dense network reads the rows. The split is the
//! one stored with the data (stratified 80/20), which `scripts/text_baseline_sklearn.py`
//! uses too. Prints the test accuracy, the accuracy of always answering the majority class
//! (`ham`), and the verdict on two new messages; the vectorizer is saved in the model file.

mod common;
use common::{compile_classifier, print_test_scores};

use stratanet::layers::{TextOutputMode, TextVectorization};
use stratanet::prelude::*;
use stratanet::{datasets, Backend};

fn run<B: Backend>(device: Device) -> stratanet::Result<()> {
    stratanet::set_random_seed(42);
    let ((x_train, y_train), (x_test, y_test)) = datasets::sms_spam()?;

    // Text -> tf-idf rows; the vocabulary and idf weights come from the training split.
    let mut vectorizer = TextVectorization::new()
        .output_mode(TextOutputMode::TfIdf)
        .ngrams(2)
        .max_tokens(10_000);
    vectorizer.adapt(&x_train)?;
    let depth = vectorizer.depth();
    let frequent: Vec<&String> = vectorizer.tokens().iter().take(5).collect();
    println!("vocabulary: {depth} terms, most frequent {frequent:?}");
    let labels = |y: &[i64]| Tensor::<B>::from_vec_on(y.to_vec(), &[y.len()], device);
    let (f_train, f_test) = (
        vectorizer.encode::<B, _>(&x_train, device)?,
        vectorizer.encode::<B, _>(&x_test, device)?,
    );

    let mut model = Sequential::<B>::new().on_device(device);
    model.add(Input::new(&[depth]))?;
    model.add(Dense::new(16).activation("relu"))?;
    model.add(Dropout::new(0.5))?;
    model.add(Dense::new(2).activation("softmax"))?;
    compile_classifier(&mut model, Adam::new(1e-3))?;
    // The validation loss bottoms out after 3 or 4 epochs; longer runs overfit.
    let options = FitOptions::new()
        .epochs(4)
        .batch_size(32)
        .validation_split(0.1)
        .seed(42);
    model.fit(&f_train, &labels(&y_train)?, options)?;

    let scores = model.evaluate(&f_test, &labels(&y_test)?)?;
    print_test_scores(&scores);
    let spam = y_test.iter().filter(|&&y| y == 1).count();
    let majority = spam.max(y_test.len() - spam) as f64 / y_test.len() as f64;
    println!("baseline accuracy: {majority:.4}");

    // The vectorizer travels with the model, as a text asset of the same file: a script that
    // loads the file classifies raw messages.
    std::fs::create_dir_all("target/text")?;
    let path = std::path::Path::new("target/text/sms_spam.safetensors");
    model.set_asset("text_vectorization", vectorizer.to_json());
    model.save(path)?;
    let mut loaded = Device::scope(device, || Sequential::<B>::load(path))?;
    let asset = loaded.asset("text_vectorization").unwrap_or_default();
    let vectorizer = TextVectorization::from_json(asset)?;
    let new = [
        "WINNER! Claim your free prize now, txt WIN to 80086",
        "see you at lunch?",
    ];
    let probs = loaded.predict(&vectorizer.encode::<B, _>(&new, device)?)?;
    let classes = probs.argmax(-1, false)?.to_vec_i64()?;
    for (text, class) in new.iter().zip(classes) {
        println!("{text:?}: {}", datasets::SMS_SPAM_CLASSES[class as usize]);
    }
    Ok(())
}

fn main() -> stratanet::Result<()> {
    stratanet::run_example!(run())
}
