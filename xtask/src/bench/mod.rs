//! `cargo xtask bench`: side-by-side timings against the reference tools.
//!
//! Every benchmark runs our tool and the reference tools in one process, on
//! the same inputs, alternating repetitions after a warm-up, and reports
//! medians. Speed targets are checked here, never by timed tests.

mod build;
mod common;
mod diff;
mod elf;
mod link;
mod nm;
mod real;
mod validate;

pub use common::release_binary;

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Which benchmark to run.
    #[arg(value_enum)]
    pub which: Which,
    /// Repetitions of each command after the warm-up.
    #[arg(long, default_value_t = 7)]
    pub runs: usize,
    /// `diff` only: also time one full build of the tree from clean (minutes),
    /// livepatch-build's approach builds it twice.
    #[arg(long)]
    pub full_build: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Which {
    /// xsplice-nm against GNU nm and llvm-nm.
    Nm,
    /// xsplice-link against GNU ld -r.
    Link,
    /// xsplice-validate against the time to read its inputs.
    Validate,
    /// config, link, validate and inspect on a real-size xen-syms.
    Target,
    /// The hello_world build with our tools against the seed's GNU recipe.
    Build,
    /// A one-file source patch to a validated payload on the real Xen tree
    /// with xsplice-build, against the incremental make it triggers.
    Diff,
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.which {
        Which::Nm => nm::run(args.runs),
        Which::Link => link::run(args.runs),
        Which::Validate => validate::run(args.runs),
        Which::Build => build::run(args.runs),
        Which::Target => real::run(args.runs),
        Which::Diff => diff::run(args.runs, args.full_build),
    }
}
