//! The `link` benchmark.

pub fn run(_runs: usize) -> anyhow::Result<()> {
    anyhow::bail!("the link benchmark is not available yet")
}
