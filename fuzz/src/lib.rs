//! What the fuzz targets share: the structure-aware mutator and the framing
//! of several files in one input.
//!
//! libFuzzer hands a target one byte string; the linker and the diff engine
//! read several files, so their inputs are framed ([`split`], [`join`]): a
//! flags byte for the options a command line would choose, a count, the
//! lengths, then the files. The mutator ([`mutate`], [`mutate_framed`])
//! keeps the framing intact and edits one file at a time, mostly through
//! the ELF-aware edits of [`elf`], so that inputs get past the readers'
//! header checks instead of dying on their first bytes.

pub mod elf;

/// A small, fast generator seeded by libFuzzer, so a mutation replays.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u32) -> Rng {
        Rng(u64::from(seed).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    pub fn next_u32(&mut self) -> u32 {
        // xorshift64*: plenty for choosing mutations.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u32() as usize) % n.max(1)
    }
}

/// The largest input any target takes: seeds are a few kilobytes, and a
/// cap keeps every execution short.
pub const MAX_INPUT: usize = 64 << 10;

/// Splits a framed input into its flags byte and its files (at most
/// `max_parts`). Bytes that do not frame are one file with no flags.
pub fn split(data: &[u8], max_parts: usize) -> (u8, Vec<&[u8]>) {
    if data.len() < 2 || data[1] == 0 || usize::from(data[1]) > max_parts {
        return (0, vec![data]);
    }
    let n = usize::from(data[1]);
    let mut at = 2 + 4 * n;
    if data.len() < at {
        return (0, vec![data]);
    }
    let mut parts = Vec::with_capacity(n);
    for i in 0..n {
        let len = u32::from_le_bytes(data[2 + 4 * i..6 + 4 * i].try_into().unwrap()) as usize;
        let end = if i + 1 == n {
            data.len()
        } else {
            at.saturating_add(len).min(data.len())
        };
        parts.push(&data[at..end]);
        at = end;
    }
    (data[0], parts)
}

/// The framed form of `flags` and `parts` (the inverse of [`split`]).
pub fn join(flags: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(2 + 4 * parts.len() + parts.iter().map(|p| p.len()).sum::<usize>());
    out.push(flags);
    out.push(parts.len() as u8);
    for p in parts {
        out.extend_from_slice(&(p.len() as u32).to_le_bytes());
    }
    for p in parts {
        out.extend_from_slice(p);
    }
    out
}

/// One mutation of the single file in `data[..size]` (a buffer of
/// `max_size` bytes); returns the new size. The libFuzzer signature.
pub fn mutate(data: &mut [u8], size: usize, max_size: usize, seed: u32) -> usize {
    let mut rng = Rng::new(seed);
    let mut buf = data[..size].to_vec();
    mutate_file(&mut buf, max_size, &mut rng);
    if buf.len() > max_size {
        return size;
    }
    data[..buf.len()].copy_from_slice(&buf);
    buf.len()
}

/// One mutation of a framed input of at most `max_parts` files: the
/// flags, the set of files, or one file's bytes.
pub fn mutate_framed(
    data: &mut [u8],
    size: usize,
    max_size: usize,
    seed: u32,
    max_parts: usize,
) -> usize {
    let mut rng = Rng::new(seed);
    let (mut flags, parts) = split(&data[..size], max_parts);
    let mut parts: Vec<Vec<u8>> = parts.into_iter().map(<[u8]>::to_vec).collect();
    match rng.below(16) {
        0 => flags ^= 1 << rng.below(8),
        1 if parts.len() < max_parts => {
            let copy = parts[rng.below(parts.len())].clone();
            parts.insert(rng.below(parts.len() + 1), copy);
        }
        2 if parts.len() > 1 => {
            parts.remove(rng.below(parts.len()));
        }
        3 if parts.len() > 1 => {
            let (a, b) = (rng.below(parts.len()), rng.below(parts.len()));
            parts.swap(a, b);
        }
        _ => {
            let i = rng.below(parts.len());
            let room = max_size.saturating_sub(size - parts[i].len());
            mutate_file(&mut parts[i], room, &mut rng);
        }
    }
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    let out = join(flags, &refs);
    if out.len() > max_size {
        return size;
    }
    data[..out.len()].copy_from_slice(&out);
    out.len()
}

/// Mutates one file: mostly structure-aware (several edits at once, inside
/// an archive member when it is an archive), sometimes libFuzzer's own
/// byte-level mutations, which also grow and shrink the file.
fn mutate_file(buf: &mut Vec<u8>, max: usize, rng: &mut Rng) {
    if rng.below(4) != 0 {
        let edits = 1 + rng.below(3);
        let mut done = false;
        for _ in 0..edits {
            let range = if buf.starts_with(b"!<arch>\n") {
                let members = archive_members(buf);
                (!members.is_empty()).then(|| members[rng.below(members.len())].clone())
            } else {
                Some(0..buf.len())
            };
            done |= range.is_some_and(|r| elf::mutate(&mut buf[r], rng));
        }
        if done {
            return;
        }
    }
    let len = buf.len();
    buf.resize(max.max(len), 0);
    let n = libfuzzer_sys::fuzzer_mutate(buf, len, max.max(len));
    buf.truncate(n);
}

/// The byte ranges of an archive's members.
fn archive_members(data: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut at = 8;
    while at + 60 <= data.len() && out.len() < 64 {
        let size = std::str::from_utf8(&data[at + 48..at + 58])
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok());
        let Some(size) = size else { break };
        let start = at + 60;
        let end = start.saturating_add(size).min(data.len());
        out.push(start..end);
        at = end + (end & 1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_round_trips() {
        let parts: [&[u8]; 3] = [b"abc", b"", b"defg"];
        let framed = join(5, &parts);
        assert_eq!(split(&framed, 3), (5, parts.to_vec()));
        assert_eq!(split(b"\x7fELF", 3), (0, vec![&b"\x7fELF"[..]]));
    }
}
