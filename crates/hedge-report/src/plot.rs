//! Line and marker plots with standard-error bands, starred optima and reference lines,
//! rendered to SVG or PNG with plotters.

use std::path::Path;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::format::fmt_sig;
use crate::palette::Rgb;
use crate::{ReportError, Result};

/// The font family every text uses (the embedded DejaVu Sans is registered under it).
pub(crate) const FAMILY: &str = "sans-serif";

/// Default size of a plot in pixels (width, height).
pub const DEFAULT_SIZE: (u32, u32) = (900, 560);

/// PNGs are drawn at this multiple of their size and averaged down: anti-aliased lines.
const SUPERSAMPLE: u32 = 2;

/// Opacity of the ± 1 SE bands (they overlap: keep them light).
const BAND_ALPHA: f64 = 0.11;

/// Width of the legend panel on the right, in pixels at scale 1.
const LEGEND_WIDTH: f64 = 250.0;

/// One point: `y ± se` at `x` (`se` NaN: no error bar / band at this point).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct XY {
    /// Abscissa.
    pub x: f64,
    /// Ordinate.
    pub y: f64,
    /// Standard error of `y` (NaN if unknown).
    pub se: f64,
}

impl XY {
    /// A point with a standard error.
    pub fn new(x: f64, y: f64, se: f64) -> Self {
        Self { x, y, se }
    }
    fn finite(&self) -> bool {
        self.x.is_finite() && self.y.is_finite()
    }
    fn se_or_zero(&self) -> f64 {
        if self.se.is_finite() { self.se.abs() } else { 0.0 }
    }
}

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesStyle {
    /// A solid line through the points (a band shows ± 1 SE when enabled).
    Line,
    /// A dashed line.
    Dashed,
    /// A marker per point with a ± 1 SE error bar.
    Markers,
    /// A line and a marker per point.
    LineMarkers,
}

/// A named series of points.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// Colour of the line, markers and band.
    pub color: Rgb,
    /// How it is drawn.
    pub style: SeriesStyle,
    /// Shade ± 1 standard error around a line.
    pub band: bool,
    /// The points, in drawing order.
    pub points: Vec<XY>,
}

impl Series {
    /// A solid line with a ± 1 SE band.
    pub fn line(name: impl Into<String>, color: Rgb, points: Vec<XY>) -> Self {
        Self {
            name: name.into(),
            color,
            style: SeriesStyle::Line,
            band: true,
            points,
        }
    }
    /// Markers with ± 1 SE error bars.
    pub fn markers(name: impl Into<String>, color: Rgb, points: Vec<XY>) -> Self {
        Self {
            name: name.into(),
            color,
            style: SeriesStyle::Markers,
            band: false,
            points,
        }
    }
    /// The same series drawn another way.
    pub fn with_style(mut self, style: SeriesStyle) -> Self {
        self.style = style;
        self
    }
    /// The same series with or without its band.
    pub fn with_band(mut self, band: bool) -> Self {
        self.band = band;
        self
    }
}

/// A starred point (a tuned optimum).
#[derive(Debug, Clone, PartialEq)]
pub struct Star {
    /// What it is (kept in the SVG as a tooltip-less label; the legend has one entry for all stars).
    pub name: String,
    /// Abscissa.
    pub x: f64,
    /// Ordinate.
    pub y: f64,
    /// Fill colour.
    pub color: Rgb,
}

/// A vertical reference line, e.g. where hacking starts.
#[derive(Debug, Clone, PartialEq)]
pub struct VLine {
    /// Abscissa.
    pub x: f64,
    /// Short label written beside the line's top.
    pub label: String,
    /// Legend text.
    pub legend: String,
    /// Colour.
    pub color: Rgb,
}

/// A horizontal reference line, e.g. the reward of a random pick.
#[derive(Debug, Clone, PartialEq)]
pub struct HLine {
    /// Ordinate.
    pub y: f64,
    /// Legend text.
    pub legend: String,
    /// Colour.
    pub color: Rgb,
}

/// A plot: series, stars and reference lines on linear axes, with a legend panel on the right.
#[derive(Debug, Clone, PartialEq)]
pub struct Plot {
    /// Title, top left.
    pub title: String,
    /// A smaller line under the title (data set, regime, …).
    pub subtitle: Option<String>,
    /// Label of the x axis, with its unit.
    pub x_label: String,
    /// Label of the y axis, with its unit.
    pub y_label: String,
    /// The series, drawn in order (later ones on top).
    pub series: Vec<Series>,
    /// Starred points, drawn on top of everything.
    pub stars: Vec<Star>,
    /// Legend text of the stars (one entry for all of them).
    pub star_legend: String,
    /// Vertical reference lines.
    pub vlines: Vec<VLine>,
    /// Horizontal reference lines.
    pub hlines: Vec<HLine>,
    /// Show only this x interval (points outside are left out); default: all points.
    pub x_range: Option<(f64, f64)>,
    /// A note at the bottom of the legend panel (wrapped).
    pub note: Option<String>,
    /// Size in pixels.
    pub size: (u32, u32),
}

/// Output format of a plot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlotFormat {
    /// Scalable vector graphics (text left to the viewer's sans-serif font).
    Svg,
    /// PNG, text drawn with the embedded DejaVu Sans.
    Png,
}

impl PlotFormat {
    /// The format named by a path's extension (`.svg`, `.png`, any case).
    pub fn from_path(path: &Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "svg" => Some(Self::Svg),
            "png" => Some(Self::Png),
            _ => None,
        }
    }
    /// `"svg"` or `"png"`.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Svg => "svg",
            Self::Png => "png",
        }
    }
}

impl Plot {
    /// An empty plot of [`DEFAULT_SIZE`].
    pub fn new(title: impl Into<String>, x_label: impl Into<String>, y_label: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            subtitle: None,
            x_label: x_label.into(),
            y_label: y_label.into(),
            series: Vec::new(),
            stars: Vec::new(),
            star_legend: "tuned optimum (HedgeTune)".into(),
            vlines: Vec::new(),
            hlines: Vec::new(),
            x_range: None,
            note: None,
            size: DEFAULT_SIZE,
        }
    }

    /// Render in `format`: the SVG document's UTF-8 bytes or a PNG file's bytes.
    pub fn render(&self, format: PlotFormat) -> Result<Vec<u8>> {
        match format {
            PlotFormat::Svg => self.svg().map(String::into_bytes),
            PlotFormat::Png => self.png(),
        }
    }

    /// The plot as an SVG document.
    pub fn svg(&self) -> Result<String> {
        crate::register_fonts();
        let frame = self.frame()?;
        let mut out = String::new();
        {
            let root = SVGBackend::with_string(&mut out, self.size).into_drawing_area();
            self.draw(&root, &frame, 1.0)
                .map_err(|message| self.draw_error(message))?;
            root.present().map_err(|e| self.draw_error(e.to_string()))?;
        }
        Ok(out)
    }

    /// The plot as a PNG file (8-bit RGB), anti-aliased by supersampling.
    pub fn png(&self) -> Result<Vec<u8>> {
        crate::register_fonts();
        let frame = self.frame()?;
        let (w, h) = self.size;
        let (sw, sh) = (w * SUPERSAMPLE, h * SUPERSAMPLE);
        let mut big = vec![255u8; sw as usize * sh as usize * 3];
        {
            let root = BitMapBackend::with_buffer(&mut big, (sw, sh)).into_drawing_area();
            self.draw(&root, &frame, SUPERSAMPLE as f64)
                .map_err(|message| self.draw_error(message))?;
            root.present().map_err(|e| self.draw_error(e.to_string()))?;
        }
        let small = downsample(&big, sw as usize, sh as usize, SUPERSAMPLE as usize);
        encode_png(&small, w, h)
    }

    fn draw_error(&self, message: String) -> ReportError {
        ReportError::Draw {
            title: self.title.clone(),
            message,
        }
    }

    /// Data ranges of the axes.
    fn frame(&self) -> Result<Frame> {
        let in_x = |x: f64| self.x_range.is_none_or(|(a, b)| x >= a && x <= b);
        let pts = || {
            self.series
                .iter()
                .flat_map(|s| s.points.iter())
                .filter(|p| p.finite() && in_x(p.x))
        };
        let mut xs: Vec<f64> = pts().map(|p| p.x).collect();
        xs.extend(
            self.stars
                .iter()
                .filter(|s| s.x.is_finite() && s.y.is_finite() && in_x(s.x))
                .map(|s| s.x),
        );
        let mut ys: Vec<f64> = pts()
            .flat_map(|p| [p.y - p.se_or_zero(), p.y + p.se_or_zero()])
            .collect();
        ys.extend(
            self.stars
                .iter()
                .filter(|s| s.x.is_finite() && s.y.is_finite() && in_x(s.x))
                .map(|s| s.y),
        );
        if xs.is_empty() {
            return Err(ReportError::EmptyPlot {
                title: self.title.clone(),
            });
        }
        ys.extend(self.hlines.iter().map(|h| h.y).filter(|y| y.is_finite()));
        xs.extend(self.vlines.iter().map(|v| v.x).filter(|&x| x.is_finite() && in_x(x)));
        let (mut x0, mut x1) = match self.x_range {
            Some(r) => r,
            None => min_max(&xs),
        };
        let (mut y0, mut y1) = min_max(&ys);
        widen(&mut x0, &mut x1);
        widen(&mut y0, &mut y1);
        let (dx, dy) = (x1 - x0, y1 - y0);
        if self.x_range.is_none() {
            x0 -= 0.02 * dx;
            x1 += 0.02 * dx;
        }
        y0 -= 0.06 * dy;
        y1 += 0.08 * dy;
        Ok(Frame {
            x: (x0, x1),
            y: (y0, y1),
        })
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        frame: &Frame,
        s: f64,
    ) -> std::result::Result<(), String>
    where
        DB::ErrorType: 'static,
    {
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        let pen = Pen(s);
        root.fill(&WHITE).map_err(err)?;
        let top = self.draw_titles(root, pen).map_err(err)?;
        let (w, _) = root.dim_in_pixel();
        let (_, body) = root.split_vertically(pen.px(top));
        let (plot_area, legend_area) = body.split_horizontally(w as i32 - pen.px(LEGEND_WIDTH));
        let mut chart = self.draw_axes(&plot_area, frame, pen).map_err(err)?;
        // Bands first, so that every line stays visible; stars on top.
        self.draw_bands(&mut chart, frame).map_err(err)?;
        self.draw_reference_lines(&mut chart, frame, pen).map_err(err)?;
        self.draw_lines_and_markers(&mut chart, frame, pen).map_err(err)?;
        self.draw_stars(&chart, frame, pen).map_err(err)?;
        self.draw_legend(&legend_area, s).map_err(err)?;
        Ok(())
    }

    /// Title and subtitle, left-aligned; returns where the plot body starts (at scale 1).
    fn draw_titles<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, pen: Pen) -> DrawResult<DB, f64> {
        let (px, font) = (|v| pen.px(v), |size| pen.font(size));
        root.draw_text(
            &self.title,
            &font(24.0).pos(Pos::new(HPos::Left, VPos::Top)),
            (px(18.0), px(12.0)),
        )?;
        let mut top = 46.0;
        if let Some(sub) = &self.subtitle {
            let style = font(16.0)
                .color(&RGBColor(80, 80, 80))
                .pos(Pos::new(HPos::Left, VPos::Top));
            root.draw_text(sub, &style, (px(18.0), px(42.0)))?;
            top = 66.0;
        }
        Ok(top)
    }

    /// The chart on `area`: axes, tick labels, axis titles and grid for `frame`.
    fn draw_axes<'a, DB: DrawingBackend>(
        &self,
        area: &'a DrawingArea<DB, Shift>,
        frame: &Frame,
        pen: Pen,
    ) -> DrawResult<DB, Chart<'a, DB>> {
        let (px, upx, font) = (|v| pen.px(v), |v| pen.upx(v), |size| pen.font(size));
        let (x0, x1) = frame.x;
        let (y0, y1) = frame.y;
        let mut chart = ChartBuilder::on(area)
            .margin_left(px(8.0))
            .margin_right(px(12.0))
            .margin_top(px(8.0))
            .margin_bottom(px(6.0))
            .x_label_area_size(px(58.0))
            .y_label_area_size(px(84.0))
            .build_cartesian_2d(x0..x1, y0..y1)?;
        let x_step = (x1 - x0).abs();
        let y_step = (y1 - y0).abs();
        let fx = move |v: &f64| tick(*v, x_step);
        let fy = move |v: &f64| tick(*v, y_step);
        chart
            .configure_mesh()
            .x_desc(self.x_label.as_str())
            .y_desc(self.y_label.as_str())
            .x_labels(9)
            .y_labels(8)
            .max_light_lines(1)
            .x_label_formatter(&fx)
            .y_label_formatter(&fy)
            .label_style(font(17.0))
            .axis_desc_style(font(19.0))
            .bold_line_style(RGBColor(222, 222, 222).stroke_width(upx(1.0)))
            .light_line_style(RGBColor(242, 242, 242).stroke_width(upx(1.0)))
            .axis_style(RGBColor(90, 90, 90).stroke_width(upx(1.0)))
            .set_all_tick_mark_size(px(5.0))
            .draw()?;
        Ok(chart)
    }

    /// The ± 1 SE bands of the series that have one.
    fn draw_bands<DB: DrawingBackend>(&self, chart: &mut Chart<'_, DB>, frame: &Frame) -> DrawResult<DB> {
        for series in self.series.iter().filter(|s| s.band) {
            let pts = frame.visible(series);
            if pts.len() < 2 || pts.iter().all(|p| p.se_or_zero() == 0.0) {
                continue;
            }
            let mut poly: Vec<(f64, f64)> = pts.iter().map(|p| (p.x, p.y + p.se_or_zero())).collect();
            poly.extend(pts.iter().rev().map(|p| (p.x, p.y - p.se_or_zero())));
            chart.draw_series(std::iter::once(Polygon::new(
                poly,
                rgb(series.color).mix(BAND_ALPHA).filled(),
            )))?;
        }
        Ok(())
    }

    /// The dashed horizontal and vertical reference lines, with the vertical lines' labels.
    fn draw_reference_lines<DB: DrawingBackend>(
        &self,
        chart: &mut Chart<'_, DB>,
        frame: &Frame,
        pen: Pen,
    ) -> DrawResult<DB> {
        let (px, upx, font) = (|v| pen.px(v), |v| pen.upx(v), |size| pen.font(size));
        let (x0, x1) = frame.x;
        let (y0, y1) = frame.y;
        for h in self.hlines.iter().filter(|h| h.y.is_finite()) {
            chart.draw_series(DashedLineSeries::new(
                vec![(x0, h.y), (x1, h.y)],
                px(6.0),
                px(5.0),
                rgb(h.color).stroke_width(upx(1.5)),
            ))?;
        }
        for v in self.vlines.iter().filter(|v| v.x.is_finite() && frame.contains_x(v.x)) {
            chart.draw_series(DashedLineSeries::new(
                vec![(v.x, y0), (v.x, y1)],
                px(8.0),
                px(5.0),
                rgb(v.color).stroke_width(upx(2.0)),
            ))?;
            if !v.label.is_empty() {
                let vc = rgb(v.color);
                let style = font(15.0).color(&vc).pos(Pos::new(HPos::Left, VPos::Top));
                let label = EmptyElement::at((v.x, y1)) + Text::new(v.label.clone(), (px(5.0), px(4.0)), style);
                chart.plotting_area().draw(&label)?;
            }
        }
        Ok(())
    }

    /// Every series' line and markers (with error bars for plain markers), in order.
    fn draw_lines_and_markers<DB: DrawingBackend>(
        &self,
        chart: &mut Chart<'_, DB>,
        frame: &Frame,
        pen: Pen,
    ) -> DrawResult<DB> {
        let (px, upx) = (|v| pen.px(v), |v| pen.upx(v));
        for series in &self.series {
            let pts = frame.visible(series);
            let color = rgb(series.color);
            let line = |pts: &[XY]| pts.iter().map(|p| (p.x, p.y)).collect::<Vec<_>>();
            match series.style {
                SeriesStyle::Line | SeriesStyle::LineMarkers => {
                    chart.draw_series(LineSeries::new(line(&pts), color.stroke_width(upx(2.5))))?;
                }
                SeriesStyle::Dashed => {
                    chart.draw_series(DashedLineSeries::new(
                        line(&pts),
                        px(7.0),
                        px(5.0),
                        color.stroke_width(upx(2.5)),
                    ))?;
                }
                SeriesStyle::Markers => {}
            }
            if matches!(series.style, SeriesStyle::Markers | SeriesStyle::LineMarkers) {
                for p in &pts {
                    let se = p.se_or_zero();
                    if se > 0.0 && series.style == SeriesStyle::Markers {
                        chart.draw_series(std::iter::once(PathElement::new(
                            vec![(p.x, p.y - se), (p.x, p.y + se)],
                            color.mix(0.45).stroke_width(upx(1.2)),
                        )))?;
                    }
                }
                chart.draw_series(pts.iter().map(|p| {
                    EmptyElement::at((p.x, p.y))
                        + Circle::new((0, 0), px(4.0), color.filled())
                        + Circle::new((0, 0), px(4.0), WHITE.stroke_width(upx(1.0)))
                }))?;
            }
        }
        Ok(())
    }

    /// The starred optima inside the frame.
    fn draw_stars<DB: DrawingBackend>(&self, chart: &Chart<'_, DB>, frame: &Frame, pen: Pen) -> DrawResult<DB> {
        for star in self
            .stars
            .iter()
            .filter(|st| st.x.is_finite() && st.y.is_finite() && frame.contains_x(st.x))
        {
            let shape = star_points(pen.px(11.0) as f64, 0.45);
            let mut outline = shape.clone();
            outline.push(shape[0]);
            let el = EmptyElement::at((star.x, star.y))
                + Polygon::new(shape, rgb(star.color).filled())
                + PathElement::new(outline, BLACK.stroke_width(pen.upx(1.2)));
            chart.plotting_area().draw(&el)?;
        }
        Ok(())
    }

    /// The legend panel: one entry per series, then the stars, the ± 1 SE key, the reference lines
    /// and the note.
    fn draw_legend<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, s: f64) -> DrawResult<DB> {
        let mut legend = Legend::new(area, Pen(s));
        for series in &self.series {
            legend.entry(&series.name, |l, cy| l.series_swatch(series, cy))?;
        }
        if !self.stars.is_empty() {
            legend.entry(&self.star_legend, Legend::star_swatch)?;
        }
        if self.series.iter().any(|s| s.band || s.style == SeriesStyle::Markers) {
            legend.entry("± 1 standard error", Legend::band_swatch)?;
        }
        for v in &self.vlines {
            legend.entry(&v.legend, |l, cy| l.dashed_swatch(v.color, 2.0, cy))?;
        }
        for h in &self.hlines {
            legend.entry(&h.legend, |l, cy| l.dashed_swatch(h.color, 1.5, cy))?;
        }
        if let Some(note) = &self.note {
            legend.note(note)?;
        }
        Ok(())
    }
}

/// What a drawing step returns: `T`, or the backend's error.
type DrawResult<DB, T = ()> = std::result::Result<T, DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// The chart of a plot: linear axes in data coordinates.
type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Sizes given at scale 1 in pixels at the drawing's scale (1, or [`SUPERSAMPLE`] for PNGs).
#[derive(Debug, Clone, Copy)]
struct Pen(f64);

impl Pen {
    /// A length or position.
    fn px(self, v: f64) -> i32 {
        (v * self.0).round() as i32
    }
    /// A line width (at least one pixel).
    fn upx(self, v: f64) -> u32 {
        (v * self.0).round().max(1.0) as u32
    }
    /// Black text of `size`.
    fn font(self, size: f64) -> TextStyle<'static> {
        TextStyle::from((FAMILY, size * self.0).into_font()).color(&BLACK)
    }
}

/// The legend panel being filled: entries stacked from the top, each a swatch left of a wrapped label.
struct Legend<'a, DB: DrawingBackend> {
    area: &'a DrawingArea<DB, Shift>,
    pen: Pen,
    /// Left and right end of the swatches, in pixels.
    sx0: i32,
    sx1: i32,
    /// Left end of the labels, in pixels.
    tx: i32,
    /// Centre of the next entry's first line, at scale 1.
    y: f64,
}

impl<'a, DB: DrawingBackend> Legend<'a, DB> {
    /// Characters per label line.
    const MAX_CHARS: usize = 26;
    /// Height of a one-line entry, at scale 1.
    const STEP: f64 = 28.0;

    fn new(area: &'a DrawingArea<DB, Shift>, pen: Pen) -> Self {
        Self {
            area,
            pen,
            sx0: pen.px(4.0),
            sx1: pen.px(36.0),
            tx: pen.px(44.0),
            y: 20.0,
        }
    }

    /// One entry: `swatch` draws at the first line's centre `cy` (pixels), then the label, wrapped.
    fn entry(&mut self, label: &str, swatch: impl FnOnce(&Self, i32) -> DrawResult<DB>) -> DrawResult<DB> {
        let px = |v| self.pen.px(v);
        let text = |size: f64| {
            TextStyle::from((FAMILY, size * self.pen.0).into_font())
                .color(&BLACK)
                .pos(Pos::new(HPos::Left, VPos::Center))
        };
        let lines = wrap(label, Self::MAX_CHARS);
        let cy = px(self.y);
        swatch(self, cy)?;
        for (i, l) in lines.iter().enumerate() {
            self.area
                .draw_text(l, &text(15.0), (self.tx, cy + px(18.0 * i as f64)))?;
        }
        self.y += Self::STEP + 18.0 * (lines.len() as f64 - 1.0);
        Ok(())
    }

    /// A series as drawn: its band, line (solid or dashed) and marker (with an error bar for plain markers).
    fn series_swatch(&self, series: &Series, cy: i32) -> DrawResult<DB> {
        let (px, upx) = (|v| self.pen.px(v), |v| self.pen.upx(v));
        let (area, sx0, sx1) = (self.area, self.sx0, self.sx1);
        let color = rgb(series.color);
        let line = matches!(
            series.style,
            SeriesStyle::Line | SeriesStyle::LineMarkers | SeriesStyle::Dashed
        );
        let marker = matches!(series.style, SeriesStyle::Markers | SeriesStyle::LineMarkers);
        if series.band {
            area.draw(&Rectangle::new(
                [(sx0, cy - px(8.0)), (sx1, cy + px(8.0))],
                color.mix(BAND_ALPHA).filled(),
            ))?;
        }
        if line {
            let style = color.stroke_width(upx(2.5));
            if series.style == SeriesStyle::Dashed {
                area.draw(&PathElement::new(vec![(sx0, cy), (sx0 + px(12.0), cy)], style))?;
                area.draw(&PathElement::new(vec![(sx1 - px(12.0), cy), (sx1, cy)], style))?;
            } else {
                area.draw(&PathElement::new(vec![(sx0, cy), (sx1, cy)], style))?;
            }
        }
        if marker {
            let mx = (sx0 + sx1) / 2;
            if series.style == SeriesStyle::Markers {
                area.draw(&PathElement::new(
                    vec![(mx, cy - px(8.0)), (mx, cy + px(8.0))],
                    color.mix(0.45).stroke_width(upx(1.2)),
                ))?;
            }
            area.draw(&Circle::new((mx, cy), px(4.0), color.filled()))?;
        }
        Ok(())
    }

    /// A white star with a black outline (stars of any colour).
    fn star_swatch(&self, cy: i32) -> DrawResult<DB> {
        let c = (self.sx0 + self.sx1) / 2;
        let pts: Vec<(i32, i32)> = star_points(self.pen.px(10.0) as f64, 0.45)
            .into_iter()
            .map(|(x, y)| (x + c, y + cy))
            .collect();
        let mut outline = pts.clone();
        outline.push(pts[0]);
        self.area.draw(&Polygon::new(pts, RGBColor(255, 255, 255).filled()))?;
        self.area
            .draw(&PathElement::new(outline, BLACK.stroke_width(self.pen.upx(1.2))))
    }

    /// A grey box: the key of every band and error bar.
    fn band_swatch(&self, cy: i32) -> DrawResult<DB> {
        let px = |v| self.pen.px(v);
        self.area.draw(&Rectangle::new(
            [(self.sx0, cy - px(8.0)), (self.sx1, cy + px(8.0))],
            RGBColor(120, 120, 120).mix(0.2).filled(),
        ))
    }

    /// A dashed line of `color` and `width` (at scale 1): a reference line.
    fn dashed_swatch(&self, color: Rgb, width: f64, cy: i32) -> DrawResult<DB> {
        let px = |v| self.pen.px(v);
        let (area, sx0, sx1) = (self.area, self.sx0, self.sx1);
        let style = rgb(color).stroke_width(self.pen.upx(width));
        area.draw(&PathElement::new(vec![(sx0, cy), (sx0 + px(9.0), cy)], style))?;
        area.draw(&PathElement::new(
            vec![(sx0 + px(13.0), cy), (sx0 + px(22.0), cy)],
            style,
        ))?;
        area.draw(&PathElement::new(vec![(sx0 + px(26.0), cy), (sx1, cy)], style))
    }

    /// Small grey text under the entries, wrapped.
    fn note(&mut self, note: &str) -> DrawResult<DB> {
        self.y += 6.0;
        let style = TextStyle::from((FAMILY, 13.0 * self.pen.0).into_font())
            .color(&RGBColor(90, 90, 90))
            .pos(Pos::new(HPos::Left, VPos::Center));
        for (i, l) in wrap(note, 33).iter().enumerate() {
            self.area
                .draw_text(l, &style, (self.sx0, self.pen.px(self.y + 16.0 * i as f64)))?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy)]
struct Frame {
    x: (f64, f64),
    y: (f64, f64),
}

impl Frame {
    fn contains_x(&self, x: f64) -> bool {
        x >= self.x.0 && x <= self.x.1
    }

    /// The finite points of `series` inside the frame's x range.
    fn visible(&self, series: &Series) -> Vec<XY> {
        series
            .points
            .iter()
            .copied()
            .filter(|p| p.finite() && self.contains_x(p.x))
            .collect()
    }
}

fn rgb(c: Rgb) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

fn min_max(v: &[f64]) -> (f64, f64) {
    v.iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)))
}

/// Give a degenerate interval some width.
fn widen(lo: &mut f64, hi: &mut f64) {
    if *hi - *lo <= 1e-12 * lo.abs().max(hi.abs()).max(1e-300) {
        let d = if *lo == 0.0 { 1.0 } else { 0.1 * lo.abs() };
        *lo -= d;
        *hi += d;
    }
}

/// A tick label: at most 4 significant digits, and exactly 0 near zero.
fn tick(v: f64, span: f64) -> String {
    if v.abs() < 1e-9 * span {
        return "0".into();
    }
    fmt_sig(v, 4)
}

/// The 10 corners of a five-pointed star of outer radius `r`, pointing up, in pixels.
fn star_points(r: f64, inner: f64) -> Vec<(i32, i32)> {
    (0..10)
        .map(|i| {
            let a = -std::f64::consts::FRAC_PI_2 + i as f64 * std::f64::consts::PI / 5.0;
            let rr = if i % 2 == 0 { r } else { r * inner };
            ((rr * a.cos()).round() as i32, (rr * a.sin()).round() as i32)
        })
        .collect()
}

/// Greedy word wrap at `width` characters.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.is_empty() || lines.is_empty() {
        lines.push(cur);
    }
    lines
}

/// Average `k × k` blocks of an RGB image.
fn downsample(big: &[u8], w: usize, h: usize, k: usize) -> Vec<u8> {
    let (sw, sh) = (w / k, h / k);
    let mut out = vec![0u8; sw * sh * 3];
    let n = (k * k) as u32;
    for y in 0..sh {
        for x in 0..sw {
            for c in 0..3 {
                let mut sum = 0u32;
                for dy in 0..k {
                    let row = (y * k + dy) * w;
                    for dx in 0..k {
                        sum += big[(row + x * k + dx) * 3 + c] as u32;
                    }
                }
                out[(y * sw + x) * 3 + c] = ((sum + n / 2) / n) as u8;
            }
        }
    }
    out
}

fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Balanced);
        let mut writer = enc.write_header().map_err(|e| ReportError::Png(e.to_string()))?;
        writer
            .write_image_data(rgb)
            .map_err(|e| ReportError::Png(e.to_string()))?;
        writer.finish().map_err(|e| ReportError::Png(e.to_string()))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(wrap("a bb ccc dddd", 6), vec!["a bb", "ccc", "dddd"]);
        assert_eq!(wrap("", 6), vec![""]);
        assert_eq!(tick(1e-17, 1.0), "0");
        assert_eq!(tick(0.45, 1.0), "0.45");
        let (mut a, mut b) = (2.0, 2.0);
        widen(&mut a, &mut b);
        assert!(a < 2.0 && b > 2.0);
        assert_eq!(star_points(10.0, 0.5)[0], (0, -10));
        let img = downsample(&[0, 0, 0, 255, 255, 255, 0, 0, 0, 255, 255, 255], 2, 2, 2);
        assert_eq!(img, vec![128, 128, 128]);
        assert_eq!(PlotFormat::from_path(Path::new("a/b.PNG")), Some(PlotFormat::Png));
        assert_eq!(PlotFormat::from_path(Path::new("b.svg")), Some(PlotFormat::Svg));
        assert_eq!(PlotFormat::from_path(Path::new("b.pdf")), None);
    }
}
