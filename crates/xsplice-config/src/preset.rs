//! Presets: the two known Makefile recipes, each as a list of items.
//!
//! - `seed`: the seed's `xen/arch/x86/test/Makefile` (March 2016) writes
//!   `NEW_CODE_SZ`, `OLD_CODE_SZ`, `OLD_CODE`, in that order.
//! - `xen-test`: Xen's `xen/test/livepatch/Makefile` today writes
//!   `NEW_CODE_SZ`, `MINOR_VERSION_SZ`, `MINOR_VERSION_ADDR`, `OLD_CODE_SZ`
//!   into `config.h` (payload-format specification §6).
//! - `xen-test-expect`: the same Makefile's `expect_config.h`:
//!   `EXPECT_BYTES`, the first 8 bytes of `xen_extra_version`, and
//!   `EXPECT_BYTES_COUNT` 8.

use std::path::{Path, PathBuf};

use crate::{ConfigError, Define, Item, Kind};

/// A known recipe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    Seed,
    XenTest,
    XenTestExpect,
}

/// The files a preset reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PresetInputs {
    /// The hypervisor image (`xen-syms`).
    pub xen_syms: Option<PathBuf>,
    /// The object with the replacement function `xen_hello_world`
    /// (`xen_hello_world_func.o`).
    pub new_obj: Option<PathBuf>,
}

/// How many bytes today's `expect_config.h` takes (`EXPECT_BYTES_COUNT`).
pub const EXPECT_BYTES_COUNT: u64 = 8;

fn lookup(name: &str, kind: Kind, file: &Path, symbol: &str) -> Item {
    Item::Lookup(Define {
        name: name.to_string(),
        kind,
        file: file.to_path_buf(),
        symbol: symbol.to_string(),
    })
}

impl Preset {
    pub const ALL: [Preset; 3] = [Preset::Seed, Preset::XenTest, Preset::XenTestExpect];

    pub fn name(self) -> &'static str {
        match self {
            Preset::Seed => "seed",
            Preset::XenTest => "xen-test",
            Preset::XenTestExpect => "xen-test-expect",
        }
    }

    /// The items, in the recipe's order.
    pub fn items(self, inputs: &PresetInputs) -> Result<Vec<Item>, ConfigError> {
        let preset = self.name();
        let xen = inputs
            .xen_syms
            .as_deref()
            .ok_or(ConfigError::MissingPresetInput {
                preset,
                flag: "--target",
            })?;
        let new_obj = || {
            inputs
                .new_obj
                .as_deref()
                .ok_or(ConfigError::MissingPresetInput {
                    preset,
                    flag: "--new-obj",
                })
        };
        Ok(match self {
            Preset::Seed => vec![
                lookup("NEW_CODE_SZ", Kind::Size, new_obj()?, "xen_hello_world"),
                lookup("OLD_CODE_SZ", Kind::Size, xen, "xen_extra_version"),
                lookup("OLD_CODE", Kind::Addr, xen, "xen_extra_version"),
            ],
            Preset::XenTest => vec![
                lookup("NEW_CODE_SZ", Kind::Size, new_obj()?, "xen_hello_world"),
                lookup("MINOR_VERSION_SZ", Kind::Size, xen, "xen_minor_version"),
                lookup("MINOR_VERSION_ADDR", Kind::Addr, xen, "xen_minor_version"),
                lookup("OLD_CODE_SZ", Kind::Size, xen, "xen_extra_version"),
            ],
            Preset::XenTestExpect => vec![
                lookup(
                    "EXPECT_BYTES",
                    Kind::Expect(EXPECT_BYTES_COUNT),
                    xen,
                    "xen_extra_version",
                ),
                Item::Literal {
                    name: "EXPECT_BYTES_COUNT".to_string(),
                    value: EXPECT_BYTES_COUNT.to_string(),
                },
            ],
        })
    }
}

xsplice_abi::named_enum!(Preset, ConfigError, |name: &str| {
    ConfigError::UnknownPreset {
        name: name.to_owned(),
    }
});
