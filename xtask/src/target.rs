//! `cargo xtask target`: builds the stand-in hypervisor.

#[derive(clap::Args)]
pub struct TargetArgs {
    /// Architectures to build (x86_64, aarch64, arm32); default x86_64.
    #[arg(long)]
    pub arch: Vec<String>,
}

pub fn run(_args: TargetArgs) -> anyhow::Result<()> {
    anyhow::bail!("`cargo xtask target` is not available yet")
}
