//! Plain text helpers shared by the layers that read what people said (the engine's guard, the judge's signals):
//! folding words for comparison, counting phrases on word boundaries, splitting sentences. No domain knowledge.

/// Lowercase words with punctuation removed ("it's" -> "it", "s"); digits kept, "1,000" -> "1000", "%" kept.
pub fn fold_words(text: &str) -> Vec<String> {
    let lower = text.to_lowercase().replace(['’', '‘'], "'");
    let chars: Vec<char> = lower.chars().collect();
    let mut out = String::with_capacity(chars.len());
    for (i, &c) in chars.iter().enumerate() {
        let digit_comma = c == ','
            && i > 0
            && chars[i - 1].is_ascii_digit()
            && chars.get(i + 1).is_some_and(|n| n.is_ascii_digit());
        if digit_comma {
            continue;
        }
        if c.is_alphanumeric() || c == '%' {
            out.push(c);
        } else {
            out.push(' ');
        }
    }
    out.split_whitespace().map(str::to_string).collect()
}

/// How often any of `phrases` occurs in `words`, on word boundaries.
pub fn count(words: &[String], phrases: &[&str]) -> usize {
    phrases
        .iter()
        .map(|p| {
            let parts: Vec<&str> = p.split(' ').collect();
            if parts.is_empty() || parts.len() > words.len() {
                return 0;
            }
            words
                .windows(parts.len())
                .filter(|w| w.iter().zip(&parts).all(|(a, b)| a == b))
                .count()
        })
        .sum()
}

/// Longest sentence kept whole; longer ones are clipped so a prompt stays short.
const MAX_SENTENCE_WORDS: usize = 40;

/// Splits an answer into sentences of at least two words, clipped to [`MAX_SENTENCE_WORDS`].
pub fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        current.push(c);
        let boundary = c == '\n'
            || (matches!(c, '.' | '!' | '?') && chars.get(i + 1).is_none_or(|n| n.is_whitespace()));
        if boundary {
            push_sentence(&mut out, &current);
            current.clear();
        }
    }
    push_sentence(&mut out, &current);
    out
}

fn push_sentence(out: &mut Vec<String>, s: &str) {
    let words: Vec<&str> = s.split_whitespace().collect();
    if words.len() >= 2 {
        let clipped = words[..words.len().min(MAX_SENTENCE_WORDS)].join(" ");
        out.push(if words.len() > MAX_SENTENCE_WORDS {
            format!("{clipped}…")
        } else {
            clipped
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        fold_words(s)
    }

    #[test]
    fn folding_keeps_numbers_and_percent_signs_and_splits_contractions() {
        assert_eq!(
            words("It's 1,000 requests, 3% of them!"),
            ["it", "s", "1000", "requests", "3%", "of", "them"]
        );
    }

    #[test]
    fn phrases_are_counted_on_word_boundaries() {
        let w = words("The team said the teammate and the team agreed.");
        assert_eq!(count(&w, &["the team"]), 2);
        assert_eq!(count(&w, &["team"]), 2);
    }
}
