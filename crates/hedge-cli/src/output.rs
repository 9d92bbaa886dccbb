//! Rendering helpers shared by every command: aligned text tables, numbers, JSON and plots.

use std::io::Write;
use std::path::Path;

use hedge_report::{Plot, PlotFormat};
use serde::Serialize;

use crate::error::{CliError, Result};

/// The one number formatter of text output (`–` for a missing number).
pub use hedge_report::fmt_sig;

/// A plain text table with left-aligned columns.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers.
    pub fn new<S: Into<String>>(header: impl IntoIterator<Item = S>) -> Self {
        Self {
            header: header.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Append a row (one cell per header).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Render with two spaces between columns.
    pub fn render(&self) -> String {
        let cols = self.header.len();
        let mut width = vec![0; cols];
        for r in std::iter::once(&self.header).chain(&self.rows) {
            for (i, c) in r.iter().enumerate().take(cols) {
                width[i] = width[i].max(c.chars().count());
            }
        }
        let mut out = String::new();
        for r in std::iter::once(&self.header).chain(&self.rows) {
            let line: Vec<String> = r
                .iter()
                .enumerate()
                .map(|(i, c)| format!("{:<w$}", c, w = width[i]))
                .collect();
            out.push_str(line.join("  ").trim_end());
            out.push('\n');
        }
        out
    }
}

/// Write a string to stdout, treating a closed pipe as success.
pub fn print(s: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::io("<stdout>", e)),
        _ => Ok(()),
    }
}

/// `v` as pretty JSON with a trailing newline (non-finite numbers as `null`).
pub fn to_json<T: Serialize + ?Sized>(v: &T) -> String {
    // Our result types serialise to JSON maps with string keys: this cannot fail.
    let mut s = serde_json::to_string_pretty(v).expect("results serialise to JSON");
    s.push('\n');
    s
}

/// Print `v` as pretty JSON.
pub fn print_json<T: Serialize + ?Sized>(v: &T) -> Result<()> {
    print(&to_json(v))
}

/// The format named by `--plot`'s extension, or a usage error.
pub fn plot_format(path: &Path) -> Result<PlotFormat> {
    PlotFormat::from_path(path).ok_or_else(|| {
        CliError::Usage(format!(
            "--plot {}: the file name must end in .svg or .png",
            path.display()
        ))
    })
}

/// Render `plot` in the format of `path`'s extension and write it.
pub fn write_plot(plot: &Plot, path: &Path) -> Result<()> {
    let bytes = plot.render(plot_format(path)?)?;
    std::fs::write(path, bytes).map_err(|e| CliError::io(path.display().to_string(), e))
}

/// `"\nPlot: PATH\n"` when a plot was written, else nothing.
pub fn plot_line(path: Option<&Path>) -> String {
    path.map_or(String::new(), |p| format!("\nPlot: {}\n", p.display()))
}
