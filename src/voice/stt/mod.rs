//! Speech-to-text: whisper.cpp through whisper-rs, on ggml files converted from CTranslate2 by `models fetch`; or a
//! server that speaks OpenAI's transcription API ([`remote`]).

pub mod remote;
pub mod wav;
pub mod whisper;

/// Word error rate of `hypothesis` against `reference`: word-level edit distance over the reference's length,
/// after lower-casing and dropping punctuation.
pub fn word_error_rate(reference: &str, hypothesis: &str) -> f64 {
    let words = |t: &str| -> Vec<String> {
        t.split_whitespace()
            .map(|w| {
                w.chars()
                    .filter(|c| c.is_alphanumeric() || *c == '\'')
                    .collect::<String>()
                    .to_lowercase()
            })
            .filter(|w| !w.is_empty())
            .collect()
    };
    let (r, h) = (words(reference), words(hypothesis));
    if r.is_empty() {
        return if h.is_empty() { 0.0 } else { 1.0 };
    }
    let mut prev: Vec<usize> = (0..=h.len()).collect();
    for (i, rw) in r.iter().enumerate() {
        let mut row = vec![i + 1; h.len() + 1];
        for (j, hw) in h.iter().enumerate() {
            let sub = prev[j] + usize::from(rw != hw);
            row[j + 1] = sub.min(prev[j + 1] + 1).min(row[j] + 1);
        }
        prev = row;
    }
    prev[h.len()] as f64 / r.len() as f64
}

#[cfg(test)]
mod tests {
    use super::word_error_rate;

    #[test]
    fn word_error_rate_counts_substitutions_insertions_and_deletions() {
        assert_eq!(
            word_error_rate("The quick brown fox.", "the quick, brown fox"),
            0.0
        );
        assert_eq!(word_error_rate("a b c d", "a x c d"), 0.25);
        assert_eq!(word_error_rate("a b c d", "a b c"), 0.25);
        assert_eq!(word_error_rate("a b", "a b c d"), 1.0);
        assert_eq!(word_error_rate("", ""), 0.0);
        assert_eq!(word_error_rate("", "hello"), 1.0);
    }
}
