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

use stratanet::datasets::{sms_spam, SMS_SPAM_CLASSES};
use stratanet::layers::TextOutputMode;
use stratanet::prelude::*;

fn main() -> stratanet::Result<()> {
    stratanet::script! {
        stratanet::set_random_seed(42);
        let ((x_train, y_train), (x_test, y_test)) = sms_spam()?;

        // Text -> tf-idf rows; the vocabulary and idf weights come from the training split.
        let mut vectorizer = TextVectorization::new()
            .output_mode(TextOutputMode::TfIdf)
            .ngrams(2)
            .max_tokens(10_000);
        vectorizer.adapt(&x_train)?;
        let frequent: Vec<&String> = vectorizer.tokens().iter().take(5).collect();
        println!("vocabulary: {} terms, most frequent {frequent:?}", vectorizer.depth());
        let f_train: Tensor = vectorizer.encode(&x_train, Device::Cpu)?;
        let f_test: Tensor = vectorizer.encode(&x_test, Device::Cpu)?;

        let mut model = Sequential::new()
            .layer(Input::new(&[vectorizer.depth()]))
            .layer(Dense::new(16).activation("relu"))
            .layer(Dropout::new(0.5))
            .layer(Dense::new(2).activation("softmax"));
        model.compile(Adam::new(1e-3), "sparse_categorical_crossentropy", &["accuracy"])?;
        // The validation loss bottoms out after 3 or 4 epochs; longer runs overfit.
        let opts = FitOptions::new().epochs(4).validation_split(0.1).seed(42);
        model.fit(&f_train, &y_train, opts)?;

        let scores = model.evaluate(&f_test, &y_test)?;
        println!("test loss: {:.4}", scores.value("loss")?);
        println!("test accuracy: {:.4}", scores.value("accuracy")?);
        let spam = y_test.iter().filter(|&&y| y == 1).count();
        let majority = spam.max(y_test.len() - spam) as f64 / y_test.len() as f64;
        println!("baseline accuracy: {majority:.4}");

        // The vectorizer travels with the model, as a text asset of the same file: a script
        // that loads the file classifies raw messages.
        std::fs::create_dir_all("target/text")?;
        model.set_asset("text_vectorization", vectorizer.to_json());
        model.save("target/text/sms_spam.safetensors")?;
        let loaded = Sequential::load("target/text/sms_spam.safetensors")?;
        let asset = loaded.asset("text_vectorization").unwrap_or_default();
        let vectorizer = TextVectorization::from_json(asset)?;
        let new = ["WINNER! Claim your free prize now, txt WIN to 80086", "see you at lunch?"];
        let x_new: Tensor = vectorizer.encode(&new, Device::Cpu)?;
        let probs = loaded.predict(&x_new)?;
        for (text, class) in new.iter().zip(probs.argmax(-1, false)?.to_vec_i64()?) {
            println!("{text:?}: {}", SMS_SPAM_CLASSES[class as usize]);
        }
    }
}
