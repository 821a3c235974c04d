//! `cargo xtask payload` and `cargo xtask install`: the payload pipeline.

#[derive(clap::Args)]
pub struct PayloadArgs {
    /// Payload name under test-payloads/, or a path to a payload directory.
    pub name: Option<String>,
}

#[derive(clap::Args)]
pub struct InstallArgs {
    /// Staging root, like `make install DESTDIR=...`.
    #[arg(long)]
    pub destdir: Option<std::path::PathBuf>,
}

pub fn run(_args: PayloadArgs) -> anyhow::Result<()> {
    anyhow::bail!("`cargo xtask payload` is not available yet")
}

pub fn install(_args: InstallArgs) -> anyhow::Result<()> {
    anyhow::bail!("`cargo xtask install` is not available yet")
}
