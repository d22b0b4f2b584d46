//! Splitting a run-together word ("youarestupid") into known vocabulary words, for word-index
//! models whose vocabulary has no sub-word pieces.

/// Shortest piece tried; single letters only as "a" and "i".
const MIN_PIECE: usize = 2;
/// Longest piece tried.
const MAX_PIECE: usize = 20;
/// Shorter words are left alone: they are rarely several words run together.
const MIN_WORD: usize = 6;

/// Segments `word` into the fewest pieces `rank` knows (ties: the most frequent, i.e. lowest
/// ranks), or `None` when `word` is known already or cannot be covered completely.
pub(crate) fn segment<'w>(
    word: &'w str,
    rank: &dyn Fn(&str) -> Option<i64>,
) -> Option<Vec<&'w str>> {
    let chars: Vec<(usize, char)> = word.char_indices().collect();
    let n = chars.len();
    if !(MIN_WORD..=200).contains(&n) || !chars.iter().all(|(_, c)| c.is_alphabetic()) {
        return None;
    }
    if rank(word).is_some() {
        return None;
    }
    let byte = |i: usize| chars.get(i).map_or(word.len(), |(b, _)| *b);
    // best[i] = (pieces, rank sum, previous cut) for the prefix of i chars.
    let mut best: Vec<Option<(usize, i64, usize)>> = vec![None; n + 1];
    best[0] = Some((0, 0, 0));
    for end in 1..=n {
        for len in 1..=MAX_PIECE.min(end) {
            let start = end - len;
            let Some((pieces, sum, _)) = best[start] else {
                continue;
            };
            let piece = &word[byte(start)..byte(end)];
            if len < MIN_PIECE && piece != "a" && piece != "i" {
                continue;
            }
            if let Some(r) = rank(piece) {
                let cand = (pieces + 1, sum + r, start);
                if best[end].is_none_or(|b| (cand.0, cand.1) < (b.0, b.1)) {
                    best[end] = Some(cand);
                }
            }
        }
    }
    let mut pieces = Vec::new();
    let mut at = n;
    while at > 0 {
        let (_, _, prev) = best[at]?;
        pieces.push(&word[byte(prev)..byte(at)]);
        at = prev;
    }
    pieces.reverse();
    Some(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rank(w: &str) -> Option<i64> {
        [
            ("you", 6),
            ("are", 18),
            ("stupid", 457),
            ("idiot", 966),
            ("stu", 9000),
            ("pid", 9001),
        ]
        .into_iter()
        .find(|(k, _)| *k == w)
        .map(|(_, r)| r)
    }

    #[test]
    fn splits_run_together_words_into_the_fewest_pieces() {
        assert_eq!(
            segment("youarestupid", &rank),
            Some(vec!["you", "are", "stupid"])
        );
        assert_eq!(segment("stupididiot", &rank), Some(vec!["stupid", "idiot"]));
        assert_eq!(segment("stupid", &rank), None, "a known word is not split");
        assert_eq!(
            segment("youarexyz", &rank),
            None,
            "everything must be covered"
        );
        assert_eq!(segment("you", &rank), None, "short words are left alone");
    }
}
