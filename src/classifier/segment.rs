//! Splitting run-together words ("fuckingidiot", "#killthemall") into known vocabulary words,
//! for word-index models whose vocabulary has no sub-word pieces.

use std::collections::HashMap;

/// Shortest and longest word tried as a piece; single letters only as "a" and "i".
const MIN_PIECE: usize = 2;
const MAX_PIECE: usize = 20;
/// Shorter unknown words are left alone: they are rarely run-together words.
const MIN_WORD: usize = 6;

/// Segments `word` into the fewest known pieces (ties: the most frequent, i.e. lowest ids),
/// returning their ids, or `None` when `word` cannot be covered completely.
pub(crate) fn segment(
    word: &str,
    index: &HashMap<String, i64>,
    num_words: usize,
) -> Option<Vec<i64>> {
    let chars: Vec<(usize, char)> = word.char_indices().collect();
    let n = chars.len();
    if !(MIN_WORD..=200).contains(&n) || !chars.iter().all(|(_, c)| c.is_alphabetic()) {
        return None;
    }
    let byte = |i: usize| chars.get(i).map_or(word.len(), |(b, _)| *b);
    let known = |s: &str| {
        index
            .get(s)
            .copied()
            .filter(|&id| id > 0 && (id as u64) < num_words as u64)
    };
    // best[i] = (pieces, id sum, previous cut, id of the piece ending at i) for the prefix of i chars.
    let mut best: Vec<Option<(usize, i64, usize, i64)>> = vec![None; n + 1];
    best[0] = Some((0, 0, 0, 0));
    for end in 1..=n {
        for len in 1..=MAX_PIECE.min(end) {
            let start = end - len;
            let Some((pieces, sum, _, _)) = best[start] else {
                continue;
            };
            let piece = &word[byte(start)..byte(end)];
            if len < MIN_PIECE && piece != "a" && piece != "i" {
                continue;
            }
            if let Some(id) = known(piece) {
                let cand = (pieces + 1, sum + id, start, id);
                if best[end].is_none_or(|b| (cand.0, cand.1) < (b.0, b.1)) {
                    best[end] = Some(cand);
                }
            }
        }
    }
    let mut ids = Vec::new();
    let mut at = n;
    while at > 0 {
        let (_, _, prev, id) = best[at]?;
        ids.push(id);
        at = prev;
    }
    ids.reverse();
    (ids.len() > 1).then_some(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_run_together_words_into_the_fewest_pieces() {
        let index: HashMap<String, i64> = [
            ("you", 6),
            ("are", 18),
            ("stupid", 457),
            ("idiot", 966),
            ("stu", 9000),
            ("pid", 9001),
        ]
        .into_iter()
        .map(|(w, i)| (w.to_string(), i))
        .collect();
        assert_eq!(
            segment("youarestupid", &index, 20000),
            Some(vec![6, 18, 457])
        );
        assert_eq!(segment("stupididiot", &index, 20000), Some(vec![457, 966]));
        assert_eq!(
            segment("stupid", &index, 20000),
            None,
            "a known word is not split"
        );
        assert_eq!(
            segment("youarexyz", &index, 20000),
            None,
            "everything must be covered"
        );
        assert_eq!(
            segment("stupididiot", &index, 900),
            None,
            "ids beyond num_words do not count"
        );
    }
}
