//! The benches' command line: `--flag N` pairs, every N a whole number of at least 1.

use anyhow::{Context, bail};

/// Reads `--flag N` pairs from the command line into `flags` (name, where its number goes),
/// leaving a flag that is not given at the value it has. `-h` or `--help` prints `usage` and
/// exits.
pub fn parse(usage: &str, flags: &mut [(&str, &mut u64)]) -> anyhow::Result<()> {
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            println!("{usage}");
            std::process::exit(0);
        }
        let Some((_, target)) = flags.iter_mut().find(|(name, _)| *name == flag) else {
            bail!("unknown flag {flag:?} (try --help)");
        };
        let value = it
            .next()
            .with_context(|| format!("{flag} needs a number"))?;
        **target = value
            .parse()
            .with_context(|| format!("{flag}: {value:?} is not a number"))?;
        if **target == 0 {
            bail!("{flag} must be at least 1");
        }
    }
    Ok(())
}
