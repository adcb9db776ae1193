//! Splitting a file into byte ranges for parallel connections, and the
//! state file that lets an interrupted multi-connection download resume.

/// A half-open byte range `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub start: u64,
    pub end: u64,
}

impl Range {
    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }
}

/// Splits `[start, end)` into at most `n` contiguous ranges of nearly equal
/// length, none shorter than `min_len` (unless the whole is).
pub fn split(start: u64, end: u64, n: usize, min_len: u64) -> Vec<Range> {
    let total = end.saturating_sub(start);
    if total == 0 {
        return Vec::new();
    }
    let by_min = (total / min_len.max(1)).max(1);
    let n = (n.max(1) as u64).min(by_min);
    let base = total / n;
    let extra = total % n;
    let mut out = Vec::with_capacity(n as usize);
    let mut at = start;
    for i in 0..n {
        let len = base + u64::from(i < extra);
        out.push(Range { start: at, end: at + len });
        at += len;
    }
    out
}

/// Splits every range of `todo` so that there are about `n` pieces in all,
/// longest first; for resuming with holes.
pub fn spread(todo: &[Range], n: usize, min_len: u64) -> Vec<Range> {
    let total: u64 = todo.iter().map(Range::len).sum();
    if total == 0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    for r in todo {
        let share = ((r.len() as u128 * n as u128).div_ceil(total as u128)).max(1) as usize;
        out.extend(split(r.start, r.end, share, min_len));
    }
    out
}

/// Where a worker that ran out of work takes over, so that all finish
/// together: the second half of the longest range still being fetched.
/// `active` holds, per worker, the (position, end) of what it still has to
/// fetch. Returns the victim and the split point (the victim's new end,
/// the thief's start), or None when no range is at least `2 * min` bytes
/// long: a shorter one ends sooner than a new transfer would start.
pub fn steal(active: &[Option<(u64, u64)>], min: u64) -> Option<(usize, u64)> {
    let (victim, (pos, end)) = active
        .iter()
        .enumerate()
        .filter_map(|(i, a)| a.map(|a| (i, a)))
        .max_by_key(|(_, (pos, end))| end.saturating_sub(*pos))?;
    let left = end.saturating_sub(pos);
    if left < 2 * min.max(1) {
        return None;
    }
    Some((victim, pos + left / 2))
}

/// The shortest piece worth splitting off for another connection, for a
/// file of `size` bytes over `n`: an eighth of each connection's share,
/// between `min_range` and 4 MiB. A new range costs a few round trips
/// (PASV, REST and RETR, a data connection), so on a distant server 4 MiB
/// (0.2 s at 20 MB/s) is about the least worth it; a small file's tail is
/// still balanced in smaller pieces.
pub fn min_steal(size: u64, n: usize, min_range: u64) -> u64 {
    (size / (8 * n.max(1) as u64)).min(4 << 20).max(min_range)
}

const STATE_MAGIC: &str = "rftplib-ranges 1";

/// The state file's text: the file size, then one missing range a line.
pub fn format_state(size: u64, missing: &[Range]) -> String {
    let mut s = format!("{STATE_MAGIC}\nsize {size}\n");
    for r in missing.iter().filter(|r| !r.is_empty()) {
        s.push_str(&format!("{} {}\n", r.start, r.end));
    }
    s
}

/// The missing ranges recorded for a file of `size` bytes; None if the
/// text is not a state file for that size (then the partial file cannot be
/// trusted).
pub fn parse_state(text: &str, size: u64) -> Option<Vec<Range>> {
    let mut lines = text.lines();
    if lines.next()? != STATE_MAGIC {
        return None;
    }
    let recorded: u64 = lines.next()?.strip_prefix("size ")?.parse().ok()?;
    if recorded != size {
        return None;
    }
    let mut out = Vec::new();
    for line in lines {
        let (a, b) = line.split_once(' ')?;
        let r = Range { start: a.parse().ok()?, end: b.parse().ok()? };
        if r.start > r.end || r.end > size {
            return None;
        }
        out.push(r);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn covers(ranges: &[Range], start: u64, end: u64) {
        let mut at = start;
        for r in ranges {
            assert_eq!(r.start, at);
            assert!(r.end > r.start);
            at = r.end;
        }
        assert_eq!(at, end);
    }

    #[test]
    fn split_covers_exactly() {
        for (start, end, n) in [(0, 10, 3), (5, 1 << 33, 4), (0, 7, 8), (3, 4, 4), (0, 1_000_003, 4)] {
            let r = split(start, end, n, 1);
            covers(&r, start, end);
            assert!(r.len() <= n);
            let lens: Vec<u64> = r.iter().map(Range::len).collect();
            assert!(lens.iter().max().unwrap() - lens.iter().min().unwrap() <= 1);
        }
        assert!(split(5, 5, 4, 1).is_empty());
    }

    #[test]
    fn split_respects_minimum() {
        assert_eq!(split(0, 1000, 4, 400).len(), 2);
        assert_eq!(split(0, 100, 4, 400).len(), 1);
        assert_eq!(split(0, 1 << 40, 4, 1 << 20).len(), 4);
    }

    #[test]
    fn spread_keeps_holes_only() {
        let todo = [Range { start: 0, end: 100 }, Range { start: 500, end: 800 }];
        let r = spread(&todo, 4, 1);
        let total: u64 = r.iter().map(Range::len).sum();
        assert_eq!(total, 400);
        assert!(r.iter().all(|x| (x.start >= 500 && x.end <= 800) || x.end <= 100));
    }

    #[test]
    fn steal_splits_the_longest_remainder_in_half() {
        // Worker 1 is at 200 of [100, 400): 200 bytes left, the most.
        let active = [Some((50, 100)), Some((200, 400)), None, Some((400, 500))];
        assert_eq!(steal(&active, 10), Some((1, 300)));
        // What is left counts, not where the range started.
        let active = [Some((0, 1000)), Some((990, 1100))];
        assert_eq!(steal(&active, 10), Some((0, 500)));
        // Odd lengths: the victim keeps the shorter half.
        assert_eq!(steal(&[Some((0, 21))], 10), Some((0, 10)));
    }

    #[test]
    fn min_steal_scales_with_each_share() {
        assert_eq!(min_steal(256 << 20, 4, 256 << 10), 4 << 20);
        assert_eq!(min_steal(256 << 20, 8, 256 << 10), 4 << 20);
        assert_eq!(min_steal(24 << 20, 4, 256 << 10), 768 << 10);
        assert_eq!(min_steal(1 << 20, 4, 256 << 10), 256 << 10);
        assert_eq!(min_steal(0, 0, 1), 1);
    }

    #[test]
    fn steal_leaves_short_ranges_alone() {
        assert_eq!(steal(&[Some((0, 19)), Some((100, 110))], 10), None);
        assert_eq!(steal(&[Some((0, 20))], 10), Some((0, 10)));
        assert_eq!(steal(&[None, None], 10), None);
        assert_eq!(steal(&[], 10), None);
        // A worker past its end (its end moved while it read) has nothing left.
        assert_eq!(steal(&[Some((300, 200))], 10), None);
        // min 0 still never makes empty ranges.
        assert_eq!(steal(&[Some((5, 6))], 0), None);
        assert_eq!(steal(&[Some((5, 7))], 0), Some((0, 6)));
    }

    #[test]
    fn state_round_trip() {
        let missing = vec![Range { start: 0, end: 10 }, Range { start: 20, end: 5_000_000_000 }];
        let text = format_state(5_000_000_000, &missing);
        assert_eq!(parse_state(&text, 5_000_000_000), Some(missing));
        assert_eq!(parse_state(&text, 42), None);
        assert_eq!(parse_state("garbage", 42), None);
        assert_eq!(parse_state(&format_state(10, &[]), 10), Some(vec![]));
        assert_eq!(parse_state("rftplib-ranges 1\nsize 10\n5 20\n", 10), None);
    }
}
