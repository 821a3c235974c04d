//! `cargo xtask bench`: side-by-side timings against the reference tools.

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Which benchmark: nm, link, validate, build.
    pub which: String,
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    anyhow::bail!("unknown benchmark `{}`", args.which)
}
