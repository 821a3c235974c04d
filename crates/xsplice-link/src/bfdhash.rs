//! The order in which GNU ld writes global symbols.
//!
//! GNU ld emits the global symbols of a relocatable link by walking its
//! symbol hash table: bucket by bucket, newest entry first within a bucket.
//! Reproducing that order needs the table's history: BFD's string hash, an
//! initial size of 4051 buckets, names inserted in order of first
//! appearance in the inputs, and growth to the next prime of BFD's list
//! once the table is more than three quarters full, which moves the
//! entries of each old bucket, in order, to the front of their new
//! buckets. This module simulates exactly that and nothing else.

const INITIAL_SIZE: u64 = 4051;

/// BFD's list of table sizes to grow into.
const PRIMES: [u64; 27] = [
    31, 61, 127, 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071, 262139, 524287,
    1048573, 2097143, 4194301, 8388593, 16777213, 33554393, 67108859, 134217689, 268435399,
    536870909, 1073741789, 4294967291,
];

/// BFD's string hash (on a 64-bit host).
fn hash(name: &[u8]) -> u64 {
    let mut h: u64 = 0;
    for &c in name {
        let c = u64::from(c);
        h = h.wrapping_add(c).wrapping_add(c << 17);
        h ^= h >> 2;
    }
    let len = name.len() as u64;
    h = h.wrapping_add(len).wrapping_add(len << 17);
    h ^= h >> 2;
    h
}

/// The traversal order of `names` (given in insertion order), as indices.
pub(crate) fn traversal_order(names: &[&[u8]]) -> Vec<usize> {
    if names.len() as u64 > INITIAL_SIZE * 3 / 4 {
        return simulated_order(names);
    }
    // The table never grows: bucket by bucket, newest first. A sort says
    // that without allocating the table, which dominates a small link.
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_unstable_by_key(|&i| (hash(names[i]) % INITIAL_SIZE, std::cmp::Reverse(i)));
    order
}

/// The traversal order after inserting `names` into a simulated table.
fn simulated_order(names: &[&[u8]]) -> Vec<usize> {
    let hashes: Vec<u64> = names.iter().map(|n| hash(n)).collect();
    let mut size = INITIAL_SIZE;
    // Each bucket lists entries head first; stored reversed (head last) so
    // that inserting at the head is a push.
    let mut buckets: Vec<Vec<usize>> = vec![Vec::new(); size as usize];
    for (i, &h) in hashes.iter().enumerate() {
        buckets[(h % size) as usize].push(i);
        let count = i as u64 + 1;
        if count > size * 3 / 4 {
            let Some(&new_size) = PRIMES.iter().find(|&&p| p > size) else {
                continue;
            };
            let mut grown: Vec<Vec<usize>> = vec![Vec::new(); new_size as usize];
            for bucket in &mut buckets {
                // Runs of equal full hash move together, head first, each to
                // the front of its new bucket.
                while let Some(&head) = bucket.last() {
                    let mut run = 1;
                    while run < bucket.len()
                        && hashes[bucket[bucket.len() - 1 - run]] == hashes[head]
                    {
                        run += 1;
                    }
                    let start = bucket.len() - run;
                    let moved: Vec<usize> = bucket.drain(start..).collect();
                    grown[(hashes[head] % new_size) as usize].extend(moved);
                }
            }
            buckets = grown;
            size = new_size;
        }
    }
    buckets
        .iter()
        .flat_map(|b| b.iter().rev().copied())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_order_agrees_with_the_table_until_it_grows() {
        // As many names as fit before the first growth: many share a
        // bucket, and the repeated ones share their full hash too.
        let owned: Vec<Vec<u8>> = (0..(INITIAL_SIZE * 3 / 4) as usize)
            .map(|i| format!("s{}", i % 2500).into_bytes())
            .collect();
        let names: Vec<&[u8]> = owned.iter().map(|n| &n[..]).collect();
        for n in [0, 1, 2, 100, 2999, names.len()] {
            assert_eq!(
                traversal_order(&names[..n]),
                simulated_order(&names[..n]),
                "{n} names"
            );
        }
    }

    #[test]
    fn gnu_order_of_a_small_link() {
        // Observed with GNU ld 2.40 (`ld -r` of two small C files).
        let names: [&[u8]; 8] = [
            b"greet",
            b"bump",
            b"maybe",
            b"shared_data",
            b"use",
            b"_GLOBAL_OFFSET_TABLE_",
            b"pi",
            b"tls_var",
        ];
        let order: Vec<&[u8]> = traversal_order(&names)
            .into_iter()
            .map(|i| names[i])
            .collect();
        let expected: [&[u8]; 8] = [
            b"maybe",
            b"use",
            b"shared_data",
            b"greet",
            b"_GLOBAL_OFFSET_TABLE_",
            b"pi",
            b"tls_var",
            b"bump",
        ];
        assert_eq!(order, expected);
    }
}

/// Lays out a string table the way BFD's ELF string tables do: each
/// distinct string once, a string that is the tail of another stored inside
/// it (the host being the next string in reversed-string order), the others
/// in order of first insertion after the leading NUL. Returns the table and
/// the offset of each input string (0 for the empty string).
pub(crate) fn string_table(strings: &[&[u8]]) -> (Vec<u8>, Vec<u32>) {
    // One sort by reversed string (ties by position) both finds duplicates,
    // which become adjacent, and puts every tail just before the strings
    // ending with it. No hashing needed.
    // Each entry carries its last eight bytes as an integer that orders
    // like the reversed string, so that most comparisons are one integer
    // comparison (names hold no NUL, so zero padding sorts a tail first).
    let mut keyed: Vec<(u64, u32)> = (0..strings.len() as u32)
        .filter(|&i| !strings[i as usize].is_empty())
        .map(|i| (reversed_key(strings[i as usize]), i))
        .collect();
    keyed.sort_unstable_by(|&(ka, a), &(kb, b)| {
        ka.cmp(&kb)
            .then_with(|| reversed_cmp(strings[a as usize], strings[b as usize]))
            .then(a.cmp(&b))
    });
    let sorted: Vec<u32> = keyed.into_iter().map(|(_, i)| i).collect();
    // The first (earliest) of equal strings represents them all.
    const NONE: u32 = u32::MAX;
    let mut rep = vec![NONE; strings.len()];
    let mut reps: Vec<u32> = Vec::with_capacity(sorted.len());
    for (k, &i) in sorted.iter().enumerate() {
        match k.checked_sub(1).map(|p| sorted[p]) {
            Some(prev) if strings[prev as usize] == strings[i as usize] => {
                rep[i as usize] = rep[prev as usize]
            }
            _ => {
                rep[i as usize] = i;
                reps.push(i);
            }
        }
    }
    // From the end of that order, a string that is the tail of the current
    // host lives inside it; any other becomes the host.
    let mut host = vec![NONE; strings.len()];
    let mut current: Option<u32> = None;
    for &i in reps.iter().rev() {
        match current {
            Some(c) if strings[c as usize].ends_with(strings[i as usize]) => host[i as usize] = c,
            _ => current = Some(i),
        }
    }
    // Hosts get their places in order of first insertion.
    let mut data = Vec::with_capacity(1 + strings.iter().map(|s| s.len() + 1).sum::<usize>());
    data.push(0u8);
    let mut offset = vec![0u32; strings.len()];
    for (i, s) in strings.iter().enumerate() {
        if rep[i] == i as u32 && host[i] == NONE {
            offset[i] = data.len() as u32;
            data.extend_from_slice(s);
            data.push(0);
        }
    }
    let mut out = vec![0u32; strings.len()];
    for (i, s) in strings.iter().enumerate() {
        if s.is_empty() {
            continue;
        }
        let r = rep[i] as usize;
        out[i] = match host[r] {
            NONE => offset[r],
            h => offset[h as usize] + (strings[h as usize].len() - s.len()) as u32,
        };
    }
    (data, out)
}

/// The last (up to) eight bytes of `s`, last byte most significant.
fn reversed_key(s: &[u8]) -> u64 {
    s.iter()
        .rev()
        .take(8)
        .enumerate()
        .fold(0, |key, (k, &b)| key | u64::from(b) << (56 - 8 * k))
}

/// Compares two strings from their last byte backwards; a tail sorts
/// before the longer string ending with it.
fn reversed_cmp(x: &[u8], y: &[u8]) -> std::cmp::Ordering {
    let n = x.len().min(y.len());
    let (xt, yt) = (&x[x.len() - n..], &y[y.len() - n..]);
    for i in (0..n).rev() {
        if xt[i] != yt[i] {
            return xt[i].cmp(&yt[i]);
        }
    }
    x.len().cmp(&y.len())
}

#[cfg(test)]
mod strtab_tests {
    use super::*;

    #[test]
    fn tails_share_and_duplicates_merge() {
        let (data, offs) =
            string_table(&[b".symtab", b".text", b".rela.text", b"a", b".text", b""]);
        assert_eq!(data, b"\0.symtab\0.rela.text\0a\0");
        assert_eq!(offs, [1, 14, 9, 20, 14, 0]);
    }

    #[test]
    fn key_orders_like_the_reversed_strings() {
        let names: [&[u8]; 9] = [
            b"a",
            b"ba",
            b"ab",
            b"xyzabcdefgh",
            b"abcdefgh",
            b"bcdefgh",
            b"\xffz",
            b"z",
            b".rela.text.f1",
        ];
        for x in names {
            for y in names {
                let by_key = reversed_key(x).cmp(&reversed_key(y));
                if by_key.is_ne() {
                    assert_eq!(by_key, reversed_cmp(x, y), "{x:?} {y:?}");
                }
            }
        }
    }
}
