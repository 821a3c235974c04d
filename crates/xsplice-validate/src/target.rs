//! What the validator needs to know about the hypervisor a payload is for:
//! its symbols, its code bytes, its build-id, and the payloads already
//! loaded into it.
//!
//! The validator reads the target through the [`TargetImage`] trait so that
//! the same checks run against a `xen-syms` file (the `xsplice-validate`
//! binary, through `xsplice-symbols`) and against the simulator's running
//! stand-in hypervisor, whose loaded payloads the simulator tracks itself.

/// A symbol of the target image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetSymbol {
    /// The name as the hypervisor's symbol table has it (`file#name` for statics).
    pub name: String,
    pub addr: u64,
    pub size: u64,
    /// True for a function (`STT_FUNC`, or a text symbol in Xen's table).
    pub is_function: bool,
}

/// The hypervisor image a payload is checked against.
pub trait TargetImage {
    /// The image's build-id descriptor, if it has one.
    fn build_id(&self) -> Option<&[u8]>;
    /// Exact, case-sensitive lookup in the hypervisor's runtime symbol
    /// table, where a static is only `file#name` (spec §3).
    fn lookup(&self, name: &str) -> Option<TargetSymbol>;
    /// The function symbol that starts exactly at `addr`, if any.
    fn function_at(&self, addr: u64) -> Option<TargetSymbol>;
    /// `len` bytes of the image at virtual address `addr`, if mapped from the file.
    fn bytes(&self, addr: u64, len: usize) -> Option<Vec<u8>>;
    /// The lowest address where payloads are mapped: the simulator passes
    /// where it really places them; a file reader returns its estimate
    /// (see [`default_payload_base`]).
    fn payload_base(&self) -> u64;
}

/// A payload already loaded before the one being checked (`--after`).
#[derive(Clone, Debug, Default)]
pub struct LoadedPayload {
    /// Its name, for messages.
    pub name: String,
    /// Its `.note.gnu.build-id` descriptor.
    pub build_id: Vec<u8>,
    /// Its new symbols (§1.4) with their load addresses.
    pub new_symbols: Vec<(String, u64)>,
}

/// Everything beyond the payload itself that the checks may use.
#[derive(Default)]
pub struct Environment<'a> {
    /// The hypervisor image; `None` skips the target checks.
    pub target: Option<&'a dyn TargetImage>,
    /// Payloads loaded before this one, oldest first.
    pub loaded: Vec<LoadedPayload>,
    /// Where this payload's memory block starts; `None` uses the target's
    /// [`TargetImage::payload_base`], or 0 without a target.
    pub load_address: Option<u64>,
}

impl Environment<'_> {
    /// Resolves a name as the loader does: the target's runtime symbol
    /// table first, then the new symbols of the loaded payloads in load
    /// order. The hypervisor's lookups return an address, 0 meaning not
    /// found, so a target symbol at address 0 does not resolve.
    pub fn resolve(&self, name: &str) -> Option<u64> {
        if let Some(s) = self.target_symbol(name) {
            return Some(s.addr);
        }
        self.loaded
            .iter()
            .flat_map(|p| p.new_symbols.iter())
            .find(|(n, _)| n == name)
            .map(|&(_, a)| a)
    }

    /// The target symbol `symbols_lookup_by_name` finds: none at address 0.
    pub fn target_symbol(&self, name: &str) -> Option<TargetSymbol> {
        self.target
            .and_then(|t| t.lookup(name))
            .filter(|s| s.addr != 0)
    }

    /// Which loaded payload defines `name` as a new symbol.
    pub fn loaded_definer(&self, name: &str) -> Option<&LoadedPayload> {
        self.loaded
            .iter()
            .find(|p| p.new_symbols.iter().any(|(n, _)| n == name))
    }
}

/// A realistic base address for payloads when only the image file is known:
/// right after the image, rounded up to 2 MiB, which is where x86 maps them
/// (the VMAP area after `__2M_rwdata_end`) and within the ARM window's reach.
pub fn default_payload_base(image_end: u64) -> u64 {
    image_end.div_ceil(2 << 20).saturating_mul(2 << 20)
}
