//! `cargo xtask fuzz`: runs the fuzz targets in `fuzz/` for a bounded time.

#[derive(clap::Args)]
pub struct FuzzArgs {
    /// How long to fuzz each target.
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
}

pub fn run(_args: FuzzArgs) -> anyhow::Result<()> {
    anyhow::bail!("`cargo xtask fuzz` is not available yet")
}
