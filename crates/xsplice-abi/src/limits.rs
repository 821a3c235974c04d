//! Numeric limits the hypervisor applies to a payload as a whole (§1.1,
//! §1.2, §1.4, §1.8, C-04, C-05, C-12, C-15, C-24).

/// Largest payload file Xen accepts: 2 MiB (`LIVEPATCH_MAX_SIZE`, C-05).
pub const MAX_PAYLOAD_SIZE: usize = 2 << 20;

/// `e_shnum` must be below this; 0 (extended numbering) is refused (C-15).
pub const MAX_SECTIONS: usize = 1024;

/// Largest SHT_NOBITS section with SHF_WRITE or SHF_ALLOC: 2 MiB (C-24).
pub const MAX_NOBITS_SIZE: u64 = 2 << 20;

/// Payload names, NUL included, are at most this long
/// (`XEN_LIVEPATCH_NAME_SIZE`, C-04); so 127 usable characters.
pub const NAME_SIZE: usize = 128;

/// Xen keeps at most this many characters of a symbol name
/// (`KSYM_NAME_LEN` 128 with the NUL, §1.4).
pub const SYMBOL_NAME_MAX: usize = 127;

/// `e_ident[EI_OSABI]` values Xen accepts: NONE/SYSV and FreeBSD (C-12).
pub const ACCEPTED_OSABI: [u8; 2] = [0, 9];

/// On ARM every loaded payload shares one 2 MiB window (§1.3).
pub const ARM_PAYLOAD_WINDOW: usize = 2 << 20;

/// The 20-byte descriptor of a `--build-id=sha1` note (§1.8).
pub const SHA1_BUILD_ID_LEN: usize = 20;
