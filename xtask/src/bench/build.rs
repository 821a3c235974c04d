//! The `build` benchmark.

pub fn run(_runs: usize) -> anyhow::Result<()> {
    anyhow::bail!("the build benchmark is not available yet")
}
