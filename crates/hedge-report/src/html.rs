//! One self-contained HTML page: inline CSS, plots inlined as SVG, no network access.

use crate::palette::{Rgb, hex};

/// A table of text cells.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// Column headers.
    pub header: Vec<String>,
    /// Rows of cells (one per header).
    pub rows: Vec<Vec<String>>,
    /// Optional colour swatch before each row's first cell (matching the plots).
    pub swatches: Vec<Option<Rgb>>,
    /// Notes under the table.
    pub notes: Vec<String>,
}

/// A plot on the page.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// Identifier (an HTML id and the `data-plot` attribute the page's self-check looks for).
    pub id: String,
    /// Heading above the plot.
    pub title: String,
    /// What to read in it, under the plot.
    pub caption: String,
    /// The plot as an SVG document (inlined).
    pub svg: String,
    /// Files beside the page with the same plot, linked under it (relative paths).
    pub files: Vec<String>,
}

/// The report page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    /// Page title and main heading.
    pub title: String,
    /// A line under the heading.
    pub subtitle: String,
    /// The verdict, one paragraph per entry.
    pub verdict: Vec<String>,
    /// The data set, as (name, value) pairs.
    pub facts: Vec<(String, String)>,
    /// Tables with a heading each.
    pub tables: Vec<(String, Table)>,
    /// The plots.
    pub figures: Vec<Figure>,
    /// Small print at the bottom.
    pub footer: Vec<String>,
}

/// Escape text for HTML element content and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = r#"
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f4f5f7; color: #1d1f23;
  font: 16px/1.5 "DejaVu Sans", "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }
main { max-width: 1000px; margin: 0 auto; padding: 24px 20px 40px; }
h1 { font-size: 28px; margin: 8px 0 2px; }
h2 { font-size: 20px; margin: 32px 0 10px; }
.sub { color: #555; margin: 0 0 18px; word-break: break-all; }
.verdict { background: #fff; border-left: 6px solid #0072b2; border-radius: 6px; padding: 12px 20px;
  box-shadow: 0 1px 3px rgba(0,0,0,.08); }
.verdict p { margin: 8px 0; }
.verdict p:first-child { font-size: 19px; font-weight: 700; line-height: 1.4; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px; background: #fff;
  border-radius: 6px; padding: 12px 20px; margin: 0; box-shadow: 0 1px 3px rgba(0,0,0,.08); }
dl.facts dt { color: #555; }
dl.facts dd { margin: 0; font-variant-numeric: tabular-nums; word-break: break-all; }
.tablewrap { overflow-x: auto; background: #fff; border-radius: 6px; box-shadow: 0 1px 3px rgba(0,0,0,.08); }
table { border-collapse: collapse; width: 100%; font-size: 14px; font-variant-numeric: tabular-nums; }
th, td { padding: 6px 10px; text-align: right; border-bottom: 1px solid #e6e7ea; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
th { background: #eef0f3; font-weight: 600; }
.sw { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin-right: 7px; vertical-align: -1px; }
.note { color: #555; font-size: 14px; margin: 6px 2px; }
figure { margin: 0 0 8px; background: #fff; border-radius: 6px; padding: 10px; box-shadow: 0 1px 3px rgba(0,0,0,.08); }
figure svg { display: block; width: 100%; height: auto; }
figcaption { color: #333; font-size: 15px; margin: 8px 6px 2px; }
figcaption .files { color: #666; font-size: 13px; }
footer { color: #666; font-size: 13px; margin-top: 30px; }
"#;

/// The page's self-check, run once the page has loaded: every figure must hold a drawn
/// SVG (a box of non-zero size with text and shapes). It sets `data-ok="yes"` (or
/// `"no"`, with a console error) and `data-plots` on `<body>`, and counts script errors
/// in `data-errors`, for headless-browser tests.
const CHECK: &str = r#"
(function () {
  var errors = 0;
  window.addEventListener('error', function () { errors += 1; document.body.dataset.errors = String(errors); });
  function check() {
    var figs = document.querySelectorAll('figure[data-plot]');
    var bad = [];
    figs.forEach(function (f) {
      var svg = f.querySelector('svg');
      var box = svg ? svg.getBoundingClientRect() : null;
      var shapes = svg ? svg.querySelectorAll('polyline, path, polygon, rect, circle, line').length : 0;
      var texts = svg ? svg.querySelectorAll('text').length : 0;
      if (!svg || box.width < 50 || box.height < 50 || shapes < 5 || texts < 3) { bad.push(f.dataset.plot); }
    });
    document.body.dataset.plots = String(figs.length);
    document.body.dataset.errors = String(errors);
    if (figs.length === 0 || bad.length > 0) {
      document.body.dataset.ok = 'no';
      console.error('hedge report: plots missing or empty: ' + (bad.join(', ') || 'no figure'));
    } else {
      document.body.dataset.ok = 'yes';
    }
  }
  if (document.readyState === 'loading') { document.addEventListener('DOMContentLoaded', check); } else { check(); }
})();
"#;

impl Page {
    /// The page as one HTML document.
    pub fn render(&self) -> String {
        let mut h = String::with_capacity(64 * 1024 + self.figures.iter().map(|f| f.svg.len()).sum::<usize>());
        self.push_head(&mut h);
        self.push_verdict(&mut h);
        self.push_facts(&mut h);
        for (heading, t) in &self.tables {
            push_table(&mut h, heading, t);
        }
        for f in &self.figures {
            push_figure(&mut h, f);
        }
        self.push_footer(&mut h);
        h.push_str(&format!("</main>\n<script>{CHECK}</script>\n</body>\n</html>\n"));
        h
    }

    /// The document head (title, inline CSS) and the page heading with its subtitle.
    fn push_head(&self, h: &mut String) {
        let e = escape_html;
        h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        h.push_str(&format!(
            "<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n",
            e(&self.title)
        ));
        h.push_str(&format!(
            "<h1>{}</h1>\n<p class=\"sub\">{}</p>\n",
            e(&self.title),
            e(&self.subtitle)
        ));
    }

    /// The verdict box, if there is a verdict.
    fn push_verdict(&self, h: &mut String) {
        if !self.verdict.is_empty() {
            h.push_str("<section class=\"verdict\" id=\"verdict\">\n");
            for p in &self.verdict {
                h.push_str(&format!("<p>{}</p>\n", escape_html(p)));
            }
            h.push_str("</section>\n");
        }
    }

    /// The "Data" list of facts, if there are any.
    fn push_facts(&self, h: &mut String) {
        if !self.facts.is_empty() {
            h.push_str("<h2>Data</h2>\n<dl class=\"facts\" id=\"data\">\n");
            for (k, v) in &self.facts {
                h.push_str(&format!("<dt>{}</dt><dd>{}</dd>\n", escape_html(k), escape_html(v)));
            }
            h.push_str("</dl>\n");
        }
    }

    /// The footer's small print, if there is any.
    fn push_footer(&self, h: &mut String) {
        if !self.footer.is_empty() {
            h.push_str("<footer>\n");
            for p in &self.footer {
                h.push_str(&format!("<p>{}</p>\n", escape_html(p)));
            }
            h.push_str("</footer>\n");
        }
    }
}

/// A table under its heading, with colour swatches before the first cells and notes under it.
fn push_table(h: &mut String, heading: &str, t: &Table) {
    let e = escape_html;
    h.push_str(&format!(
        "<h2>{}</h2>\n<div class=\"tablewrap\"><table>\n<thead><tr>",
        e(heading)
    ));
    for c in &t.header {
        h.push_str(&format!("<th>{}</th>", e(c)));
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    for (i, row) in t.rows.iter().enumerate() {
        h.push_str("<tr>");
        for (j, c) in row.iter().enumerate() {
            let sw = match (j, t.swatches.get(i).copied().flatten()) {
                (0, Some(rgb)) => format!("<span class=\"sw\" style=\"background:{}\"></span>", hex(rgb)),
                _ => String::new(),
            };
            h.push_str(&format!("<td>{sw}{}</td>", e(c)));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table></div>\n");
    for n in &t.notes {
        h.push_str(&format!("<p class=\"note\">{}</p>\n", e(n)));
    }
}

/// A figure under its heading: the inlined SVG, the caption and links to the plot's files.
fn push_figure(h: &mut String, f: &Figure) {
    let e = escape_html;
    h.push_str(&format!("<h2 id=\"{}\">{}</h2>\n", e(&f.id), e(&f.title)));
    h.push_str(&format!("<figure data-plot=\"{}\">\n", e(&f.id)));
    h.push_str(&inline_svg(&f.svg, &f.title));
    h.push_str(&format!("\n<figcaption>{}", e(&f.caption)));
    if !f.files.is_empty() {
        let links: Vec<String> = f
            .files
            .iter()
            .map(|p| format!("<a href=\"{0}\">{0}</a>", e(p)))
            .collect();
        h.push_str(&format!(
            "<br><span class=\"files\">Files: {}</span>",
            links.join(" · ")
        ));
    }
    h.push_str("</figcaption>\n</figure>\n");
}

/// An SVG document as an inline element: no XML prolog, with an accessible label.
fn inline_svg(svg: &str, label: &str) -> String {
    let start = svg.find("<svg").unwrap_or(0);
    let body = &svg[start..];
    match body.strip_prefix("<svg") {
        Some(rest) => format!("<svg role=\"img\" aria-label=\"{}\"{rest}", escape_html(label)),
        None => body.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_is_self_contained_and_escaped() {
        let page = Page {
            title: "hedge report <x>".into(),
            subtitle: "a & b".into(),
            verdict: vec!["n ≈ 23".into()],
            facts: vec![("prompts".into(), "100".into())],
            tables: vec![(
                "Tuned".into(),
                Table {
                    header: vec!["method".into()],
                    rows: vec![vec!["bon".into()]],
                    swatches: vec![Some((0, 114, 178))],
                    notes: vec![],
                },
            )],
            figures: vec![Figure {
                id: "kl".into(),
                title: "Reward vs KL".into(),
                caption: "c".into(),
                svg: "<?xml version=\"1.0\"?><svg width=\"10\" height=\"10\"></svg>".into(),
                files: vec!["kl.svg".into()],
            }],
            footer: vec![],
        };
        let h = page.render();
        assert!(h.contains("<h1>hedge report &lt;x&gt;</h1>"));
        assert!(h.contains("a &amp; b"));
        assert!(h.contains("<svg role=\"img\" aria-label=\"Reward vs KL\" width=\"10\""));
        assert!(!h.contains("<?xml"));
        assert!(h.contains("background:#0072b2"));
        assert!(h.contains("data-plot=\"kl\""));
        assert!(
            !h.contains("<link") && !h.contains("src=") && !h.contains("href=\"http"),
            "no network references"
        );
    }
}
