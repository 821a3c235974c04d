//! The `validate` benchmark.

pub fn run(_runs: usize) -> anyhow::Result<()> {
    anyhow::bail!("the validate benchmark is not available yet")
}
