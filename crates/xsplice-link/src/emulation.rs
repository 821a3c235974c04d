//! `ld -m EMULATION`: the GNU ld emulations whose `-r` output we write.
//!
//! Makefiles written for GNU ld name the output format on the command line
//! (Xen's x86 build links every payload with `-melf_x86_64`), so a drop-in
//! `LD` must accept the option. An emulation fixes the machine and ELF
//! class of the output; GNU ld refuses an input of another machine, and so
//! do we, so that a wrong `-m` fails loudly instead of giving another link.
//! Only the emulations of the three reference linkers (`ld`,
//! `aarch64-linux-gnu-ld`, `arm-linux-gnueabihf-ld`) whose `-r` output the
//! differential tests compare with ours are accepted.

use object::elf;

use crate::LinkError;

/// A GNU ld emulation whose `-r` output `xsplice-link` reproduces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Emulation {
    /// `elf_x86_64`: ELF64 x86_64, the default of `ld` on x86_64 Linux.
    ElfX86_64,
    /// `aarch64linux`: ELF64 aarch64 little-endian, the default of `aarch64-linux-gnu-ld`.
    Aarch64Linux,
    /// `aarch64elf`: ELF64 aarch64 little-endian, for bare-metal targets.
    Aarch64Elf,
    /// `armelf_linux_eabi`: ELF32 arm little-endian, the default of `arm-linux-gnueabihf-ld`.
    ArmElfLinuxEabi,
}

impl Emulation {
    /// Every accepted emulation, in the order messages list them.
    pub const ALL: [Emulation; 4] = [
        Emulation::ElfX86_64,
        Emulation::Aarch64Linux,
        Emulation::Aarch64Elf,
        Emulation::ArmElfLinuxEabi,
    ];

    /// GNU ld's name of the emulation.
    pub fn name(self) -> &'static str {
        match self {
            Emulation::ElfX86_64 => "elf_x86_64",
            Emulation::Aarch64Linux => "aarch64linux",
            Emulation::Aarch64Elf => "aarch64elf",
            Emulation::ArmElfLinuxEabi => "armelf_linux_eabi",
        }
    }

    /// The `e_machine` of its output.
    pub fn machine(self) -> u16 {
        match self {
            Emulation::ElfX86_64 => elf::EM_X86_64.0,
            Emulation::Aarch64Linux | Emulation::Aarch64Elf => elf::EM_AARCH64.0,
            Emulation::ArmElfLinuxEabi => elf::EM_ARM.0,
        }
    }

    /// True for ELF64 output, false for ELF32.
    pub fn is_64(self) -> bool {
        self != Emulation::ArmElfLinuxEabi
    }
}

xsplice_abi::named_enum!(Emulation, LinkError, |name: &str| {
    LinkError::UnknownEmulation {
        name: name.to_owned(),
        supported: Emulation::ALL.map(Emulation::name).join(", "),
    }
});

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, expect: &str) {
        let got = match name.parse::<Emulation>() {
            Ok(e) => format!("{e} machine {} 64-bit {}", e.machine(), e.is_64()),
            Err(e) => e.to_string(),
        };
        assert_eq!(got, expect, "{name}");
    }

    #[test]
    fn names() {
        check("elf_x86_64", "elf_x86_64 machine 62 64-bit true");
        check("aarch64linux", "aarch64linux machine 183 64-bit true");
        check("aarch64elf", "aarch64elf machine 183 64-bit true");
        check(
            "armelf_linux_eabi",
            "armelf_linux_eabi machine 40 64-bit false",
        );
        let unsupported = "unsupported emulation `elf_i386` (xsplice-link writes elf_x86_64, aarch64linux, aarch64elf, armelf_linux_eabi)";
        check("elf_i386", unsupported);
        check("", &unsupported.replace("`elf_i386`", "``"));
        check(
            "elf_x86_64_fbsd",
            &unsupported.replace("elf_i386", "elf_x86_64_fbsd"),
        );
    }
}
