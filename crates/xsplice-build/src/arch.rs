//! The architectures we build for, and what differs between them: compiler
//! names, flags, and where the stand-in hypervisor is linked.

use std::path::PathBuf;

use crate::BuildError;

/// The flags every object we compile shares, the stand-in's and the
/// payloads', like Xen's own: C11 with GNU extensions at `-O2`,
/// freestanding, no common symbols, split sections, no stack protector and
/// no unwind tables.
pub const BASE_CFLAGS: [&str; 11] = [
    "-std=gnu11",
    "-O2",
    "-ffreestanding",
    "-fno-builtin",
    "-fno-common",
    "-ffunction-sections",
    "-fdata-sections",
    "-fno-strict-aliasing",
    "-fno-stack-protector",
    "-fno-asynchronous-unwind-tables",
    "-fno-unwind-tables",
];

/// A target architecture of the stand-in hypervisor and of payloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Arch {
    X86_64,
    Aarch64,
    Arm32,
}

impl Arch {
    /// Every architecture, in the order builds and tables list them.
    pub const ALL: [Arch; 3] = [Arch::X86_64, Arch::Aarch64, Arch::Arm32];

    /// The name used on the command line and in output directories.
    pub fn name(self) -> &'static str {
        xsplice_abi::Arch::from(self).name()
    }

    /// Parses `x86_64`, `aarch64` or `arm32`, or an alias: the names
    /// `xsplice-abi` takes, which alone knows them.
    pub fn parse(name: &str) -> Result<Arch, BuildError> {
        name.parse::<xsplice_abi::Arch>()
            .map(Arch::from)
            .map_err(|_| BuildError::UnknownArch(name.to_owned()))
    }

    /// The cross compiler of Debian's cross toolchain, or `None` for x86_64.
    pub fn cross_compiler(self) -> Option<&'static str> {
        match self {
            Arch::X86_64 => None,
            Arch::Aarch64 => Some("aarch64-linux-gnu-gcc"),
            Arch::Arm32 => Some("arm-linux-gnueabihf-gcc"),
        }
    }

    /// The Debian package providing the compiler.
    pub fn compiler_package(self) -> &'static str {
        match self {
            Arch::X86_64 => "gcc",
            Arch::Aarch64 => "gcc-aarch64-linux-gnu",
            Arch::Arm32 => "gcc-arm-linux-gnueabihf",
        }
    }

    /// The address the stand-in hypervisor is linked at.
    ///
    /// Each is page-aligned and inside a Linux process's user address space
    /// (x86_64 47-bit, aarch64 39-bit, arm32 below 3 GiB), so a simulator
    /// can map the image at its link address with `MAP_FIXED_NOREPLACE`.
    pub fn stand_in_base(self) -> u64 {
        match self {
            Arch::X86_64 => 0x0000_2000_0000_0000,
            Arch::Aarch64 => 0x0000_0040_0000_0000,
            Arch::Arm32 => 0x4000_0000,
        }
    }

    /// Code-generation flags shared by the image and the payloads, like
    /// Xen's own per-architecture flags.
    pub fn arch_cflags(self) -> &'static [&'static str] {
        match self {
            Arch::X86_64 => &["-m64", "-mno-red-zone", "-fcf-protection=none"],
            Arch::Aarch64 => &["-mgeneral-regs-only"],
            Arch::Arm32 => &["-marm", "-march=armv7-a", "-msoft-float"],
        }
    }

    /// Finds the C compiler: `$CC` or `cc`/`gcc`/`clang` for x86_64 hosts'
    /// own architecture, the Debian cross compiler otherwise.
    pub fn find_compiler(self) -> Result<PathBuf, BuildError> {
        let candidates: Vec<String> = match self.cross_compiler() {
            Some(cross) => vec![cross.to_owned()],
            None => {
                let mut c = Vec::new();
                if let Some(cc) = std::env::var_os("CC").filter(|v| !v.is_empty()) {
                    c.push(cc.to_string_lossy().into_owned());
                }
                c.extend(["cc", "gcc", "clang"].map(String::from));
                c
            }
        };
        for name in &candidates {
            if let Ok(path) = which::which(name) {
                return Ok(path);
            }
        }
        Err(BuildError::NoCompiler {
            arch: self.name().to_owned(),
            tried: candidates.join(", "),
            package: self.compiler_package().to_owned(),
        })
    }
}

/// The payload ABI's architecture a build is for.
impl From<Arch> for xsplice_abi::Arch {
    fn from(arch: Arch) -> xsplice_abi::Arch {
        match arch {
            Arch::X86_64 => xsplice_abi::Arch::X86_64,
            Arch::Aarch64 => xsplice_abi::Arch::Aarch64,
            Arch::Arm32 => xsplice_abi::Arch::Arm32,
        }
    }
}

/// The build's view of an architecture of the payload ABI.
impl From<xsplice_abi::Arch> for Arch {
    fn from(arch: xsplice_abi::Arch) -> Arch {
        match arch {
            xsplice_abi::Arch::X86_64 => Arch::X86_64,
            xsplice_abi::Arch::Aarch64 => Arch::Aarch64,
            xsplice_abi::Arch::Arm32 => Arch::Arm32,
        }
    }
}

xsplice_abi::named_enum!(Arch);
