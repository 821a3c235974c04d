//! Malformed bytes give errors, never panics: every decoder of the crate
//! is fed every short length and many pseudo-random inputs (a fixed-seed
//! xorshift, so a failure reproduces), with the note header fields pushed
//! to their extremes.

use xsplice_abi::{Abi, BuildIdNote, FuncEntry, WordSize};

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// Header values that probe the bounds arithmetic.
const EXTREMES: [u32; 8] = [0, 1, 3, 4, 5, 20, 0x7fff_ffff, u32::MAX];

#[test]
fn notes_never_panic() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut accepted = 0;
    for len in 0..80 {
        for round in 0..200 {
            let mut bytes = rng.bytes(len);
            if len >= 12 && round % 2 == 0 {
                let pick =
                    |rng: &mut XorShift| EXTREMES[(rng.next() % EXTREMES.len() as u64) as usize];
                bytes[0..4].copy_from_slice(&pick(&mut rng).to_le_bytes());
                bytes[4..8].copy_from_slice(&pick(&mut rng).to_le_bytes());
                bytes[8..12].copy_from_slice(&3u32.to_le_bytes());
                if len >= 16 {
                    bytes[12..16].copy_from_slice(b"GNU\0");
                }
            }
            if let Ok(note) = BuildIdNote::parse(&bytes) {
                accepted += 1;
                // What parses also re-encodes to a note that parses the same.
                if note.namesz == 4 {
                    let again = BuildIdNote::encode(&note.desc).unwrap();
                    assert_eq!(BuildIdNote::parse(&again).unwrap(), note);
                }
            }
        }
    }
    assert!(accepted > 0, "the generator never produced a valid note");
}

#[test]
fn func_entries_never_panic() {
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    for abi in Abi::ALL {
        for word in WordSize::ALL {
            let size = abi.entry_size(word);
            for len in 0..=2 * size + 1 {
                let bytes = rng.bytes(len);
                let all = FuncEntry::decode_all(abi, word, &bytes);
                assert_eq!(all.is_ok(), len % size == 0, "{abi} {word} len {len}");
                let one = FuncEntry::decode(abi, word, &bytes);
                assert_eq!(one.is_ok(), len == size, "{abi} {word} len {len}");
                if let Ok(entry) = one {
                    // A decoded entry encodes back to the same bytes when it
                    // only uses fields of its own ABI, which decode ensures.
                    assert_eq!(entry.encode(abi, word).unwrap(), bytes, "{abi} {word}");
                }
            }
        }
    }
}
