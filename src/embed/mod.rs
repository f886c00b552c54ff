//! Sentence embeddings: text to a unit vector whose cosine with another says how close two texts are in meaning.
//! The judge uses them to tell an answer about something else from an answer in other words, and to match an
//! answer's sentences to the catalog's reference points. Behind the small [`Embed`] trait, like `Llm`: the local
//! model ([`minilm`], all-MiniLM-L6-v2 on candle) or a test double. Knows nothing of interviews or scoring.

pub mod minilm;

use std::path::Path;
use std::sync::Arc;

/// Turns texts into unit vectors of one dimension.
pub trait Embed: Send + Sync {
    /// A name for reports, e.g. `local:minilm-l6`.
    fn name(&self) -> String;

    /// One unit vector per text, in order. An empty text gets a zero vector.
    fn embed(&self, texts: &[&str]) -> anyhow::Result<Vec<Vec<f32>>>;
}

/// The cosine of two unit vectors (their dot product); 0 when either is zero or they differ in length.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return 0.0;
    }
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The manifest name of the local sentence-embedding model.
pub const MODEL: &str = "minilm-l6";

/// Loads the local embedding model from the models directory, if it is installed and loads.
pub fn open(models_dir: &Path) -> Result<Arc<dyn Embed>, String> {
    let dir = models_dir.join(MODEL);
    if !dir.join(minilm::WEIGHTS).is_file() {
        return Err(format!(
            "{} is not installed (rehearse models fetch --set tiny installs it)",
            MODEL
        ));
    }
    minilm::MiniLm::load(&dir)
        .map(|m| Arc::new(m) as Arc<dyn Embed>)
        .map_err(|e| format!("{MODEL} failed to load: {e:#}"))
}

#[cfg(test)]
pub mod double {
    //! A deterministic test double: a bag of words hashed into 64 buckets, normalised.

    use super::Embed;

    #[derive(Debug, Default)]
    pub struct BagOfWords;

    impl Embed for BagOfWords {
        fn name(&self) -> String {
            "bag-of-words".into()
        }

        fn embed(&self, texts: &[&str]) -> anyhow::Result<Vec<Vec<f32>>> {
            Ok(texts
                .iter()
                .map(|t| {
                    let mut v = vec![0f32; 64];
                    for w in crate::text::fold_words(t) {
                        if w.len() > 3 {
                            let h = w
                                .bytes()
                                .fold(0usize, |h, b| h.wrapping_mul(31) + b as usize);
                            v[h % 64] += 1.0;
                        }
                    }
                    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                    if n > 0.0 {
                        v.iter_mut().for_each(|x| *x /= n);
                    }
                    v
                })
                .collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_of_unit_vectors_is_their_dot_product_and_mismatched_lengths_are_unrelated() {
        assert!((cosine(&[0.6, 0.8], &[0.6, 0.8]) - 1.0).abs() < 1e-6);
        assert_eq!(cosine(&[1.0, 0.0], &[0.0, 1.0]), 0.0);
        assert_eq!(cosine(&[1.0], &[1.0, 0.0]), 0.0);
    }

    #[test]
    fn a_missing_model_is_a_clear_error() {
        let e = open(Path::new("/nonexistent")).err().unwrap();
        assert!(e.contains("not installed"), "{e}");
    }
}
