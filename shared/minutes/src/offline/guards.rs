//! What keeps a cue from counting: a question ("did we decide …?"), a negation ("we haven't
//! decided", "on n'a pas décidé", "I don't think Bob will …") or a hypothetical ("if we
//! decide", "si on décide") in the cue's own clause.

use super::cues::{HYPOTHETICALS, NEGATIONS};
use crate::text::Folded;

/// Characters that end a clause.
const CLAUSE_ENDS: &[char] = &[',', ';', ':', '(', ')', '—', '–'];

/// The folded text of the clause before character `at`: back to the last clause end.
fn clause_before(f: &Folded, at: usize) -> String {
    let at = at.min(f.fold.len());
    let start = f.fold[..at]
        .iter()
        .rposition(|c| CLAUSE_ENDS.contains(c))
        .map_or(0, |i| i + 1);
    f.fold[start..at].iter().collect()
}

/// A negation or a hypothetical in the clause before `at` (where the cue, or its owner's
/// name, starts).
pub(super) fn blocked(f: &Folded, at: usize) -> bool {
    let clause = clause_before(f, at);
    let c = Folded::new(&clause);
    // "don't", "haven't", "won't".
    c.contains_any(NEGATIONS) || c.contains_any(HYPOTHETICALS) || clause.contains("n't")
}

/// The clause from `at` to the end of the sentence is a question: the sentence ends with `?`
/// with no clause end in between ("Did we agree that Bob will send it?" is one; "I'll send
/// it by Friday, OK?" is not).
pub(super) fn question(f: &Folded, at: usize) -> bool {
    let tail: Vec<char> = f.fold[at.min(f.fold.len())..]
        .iter()
        .copied()
        .filter(|c| !c.is_whitespace())
        .collect();
    tail.last() == Some(&'?') && !tail.iter().any(|c| CLAUSE_ENDS.contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str, cue: &str) -> (Folded, usize) {
        let f = Folded::new(text);
        let i = f.find_word(cue, 0).expect("the cue is there");
        (f, i)
    }

    #[test]
    fn negations_and_hypotheticals_block_their_clause_only() {
        for (text, cue, expected) in [
            ("I don't think we decided that.", "we decided", true),
            ("If we decided to go, fine.", "we decided", true),
            ("Si on a décidé ça, tant mieux.", "on a décidé", true),
            ("Je ne crois pas qu'on a décidé.", "on a décidé", true),
            ("No idea why, but we decided to go.", "we decided", false),
            ("After a long talk we decided to go.", "we decided", false),
        ] {
            let (f, i) = at(text, cue);
            assert_eq!(blocked(&f, i), expected, "{text}");
        }
    }

    #[test]
    fn questions_but_not_tag_questions() {
        let (f, i) = at("Did we agree that Bob will send it?", "bob");
        assert!(question(&f, i));
        let (f, i) = at("I'll send it by Friday, OK?", "i'll");
        assert!(!question(&f, i));
    }
}
