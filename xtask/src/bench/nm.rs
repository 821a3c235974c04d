//! The `nm` benchmark.

pub fn run(_runs: usize) -> anyhow::Result<()> {
    anyhow::bail!("the nm benchmark is not available yet")
}
