//! # hedge-report
//!
//! Rendering of hedge's results for people: plots as SVG or PNG ([`Plot`]), a
//! self-contained HTML page ([`Page`]) and a plain-language verdict ([`verdict`]).
//!
//! It takes the typed results of `hedge-estimate` ([`hedge_estimate::TuneOutcome`],
//! [`hedge_estimate::Survey`], curves) and returns bytes and strings: [`figures`] assembles
//! the plots, [`render_survey`] a whole report. Nothing here reads or writes files, and no
//! estimate is made here: which parameters to evaluate, the threshold, the baselines and the
//! evidence come from `hedge-estimate`; this crate only words and draws them.
//!
//! Text in PNGs is drawn with DejaVu Sans, embedded in the library (`fonts/`, Bitstream
//! Vera licence, see `fonts/LICENSE-DejaVu.txt`), so a machine without any font renders
//! the same pictures. SVGs name the generic `sans-serif` family and let the viewer pick.
//!
//! ```
//! use hedge_report::{Plot, PlotFormat, Series, XY};
//! let mut plot = Plot::new("Best-of-n", "n (samples per prompt)", "expected true reward");
//! plot.series.push(Series::line("BoN", hedge_report::palette::BLUE, vec![XY::new(1.0, 0.40, 0.01), XY::new(4.0, 0.47, 0.01)]));
//! let svg = plot.render(PlotFormat::Svg).unwrap();
//! assert!(String::from_utf8(svg).unwrap().starts_with("<svg"));
//! let png = plot.render(PlotFormat::Png).unwrap();
//! assert_eq!(&png[1..4], b"PNG");
//! ```

#![warn(missing_docs)]

pub mod figures;
mod format;
mod html;
pub mod labels;
mod leaderboard;
pub mod palette;
mod plot;
mod survey_page;
mod verdict;

pub use figures::{CurveFacts, ThetaStep, curve_plot, pareto_plot, theta_plot, tune_plot};
pub use format::{fmt_num, fmt_sig};
pub use html::{Figure, Page, Table, escape_html};
pub use leaderboard::leaderboard_table;
pub use plot::{DEFAULT_SIZE, HLine, Plot, PlotFormat, Series, SeriesStyle, Star, VLine, XY};
pub use survey_page::{
    ExtraFigure, REPORT_FILES, RenderedSurvey, method_facts, render_survey, render_survey_extra, render_survey_with,
    survey_page, survey_verdict,
};
pub use verdict::{Holdout, MethodFacts, Profile, gap_sentence, verdict};

/// A plot could not be drawn or encoded.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The plot has nothing finite to draw.
    #[error("plot {title:?}: no finite point to draw")]
    EmptyPlot {
        /// The plot's title.
        title: String,
    },
    /// The drawing library failed.
    #[error("plot {title:?}: drawing failed: {message}")]
    Draw {
        /// The plot's title.
        title: String,
        /// What went wrong.
        message: String,
    },
    /// The PNG encoder failed.
    #[error("PNG encoding failed: {0}")]
    Png(String),
}

/// Result alias.
pub type Result<T> = std::result::Result<T, ReportError>;

/// DejaVu Sans, the one face used for every text of the PNGs.
pub(crate) static FONT: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");

/// Register the embedded font with plotters under the generic family `sans-serif`
/// (once per process; plotters' font registry is global).
pub(crate) fn register_fonts() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use plotters::style::FontStyle;
        for style in [FontStyle::Normal, FontStyle::Bold] {
            // The bytes are a valid TrueType file, checked by the tests.
            let _ = plotters::style::register_font(plot::FAMILY, style, FONT);
        }
    });
}
