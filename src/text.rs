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
    phrases.iter().map(|p| positions(words, p).count()).sum()
}

/// Where `phrase` (words separated by single spaces) starts in `words`, on word boundaries.
pub fn positions<'a>(words: &'a [String], phrase: &'a str) -> impl Iterator<Item = usize> + 'a {
    let parts: Vec<&str> = phrase.split(' ').collect();
    let n = parts.len();
    (0..(words.len() + 1).saturating_sub(n))
        .filter(move |&i| n > 0 && words[i..i + n].iter().zip(&parts).all(|(a, b)| a == b))
}

/// Whether `c` ends a sentence.
pub fn is_terminator(c: char) -> bool {
    matches!(c, '.' | '?' | '!')
}

/// Whether the run of terminators `chars[start..=end]` is the full stop of an initial ("J. Smith").
pub fn is_initial(chars: &[char], start: usize, end: usize) -> bool {
    start == end
        && chars[end] == '.'
        && start >= 1
        && chars[start - 1].is_uppercase()
        && (start == 1 || !chars[start - 2].is_alphanumeric())
}

/// Cuts one line after each run of `. ? !` that a space follows, except after a single capital (an initial).
pub fn split_sentences(line: &str) -> Vec<String> {
    let chars: Vec<char> = line.chars().collect();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < chars.len() {
        if is_terminator(chars[i]) {
            let run_start = i;
            while i + 1 < chars.len() && is_terminator(chars[i + 1]) {
                i += 1;
            }
            let at_end = i + 1 >= chars.len();
            let before_space = !at_end && chars[i + 1].is_whitespace();
            if at_end || (before_space && !is_initial(&chars, run_start, i)) {
                let s: String = chars[start..=i].iter().collect();
                out.push(s.trim().to_string());
                start = i + 1;
            }
        }
        i += 1;
    }
    let rest: String = chars[start.min(chars.len())..].iter().collect();
    if !rest.trim().is_empty() {
        out.push(rest.trim().to_string());
    }
    out
}

/// Longest sentence kept whole; longer ones are clipped so a prompt stays short.
const MAX_SENTENCE_WORDS: usize = 40;

/// Splits an answer into sentences (each line apart, cut as [`split_sentences`] cuts) of at least two words,
/// clipped to [`MAX_SENTENCE_WORDS`].
pub fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        for sentence in split_sentences(line) {
            push_sentence(&mut out, &sentence);
        }
    }
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

/// `s` cut to at most `n` characters, the last of them an ellipsis when it was cut.
pub fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!(
            "{}…",
            s.chars().take(n.saturating_sub(1)).collect::<String>()
        )
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
