//! Rendering end to end: a plot with every element, as SVG and as PNG (decoded back).
//! Set `HEDGE_REPORT_DUMP=DIR` to keep the pictures for a look.

use hedge_report::palette::{BLUE, GREEN, GREY, ORANGE, VERMILLION};
use hedge_report::{HLine, Plot, PlotFormat, Series, SeriesStyle, Star, VLine, XY};

fn sample_plot() -> Plot {
    let bump = |x: f64| 0.4 + 0.1 * (x / 5.0) * (-(x / 5.0) + 1.0).exp();
    let mut p = Plot::new(
        "Expected true reward against KL",
        "KL to reference (nats)",
        "expected true reward",
    );
    p.subtitle = Some("synthetic: a hacking curve & friends <escaped>".into());
    p.series.push(Series::markers(
        "BoN (n = 1…25)",
        BLUE,
        (1..=25)
            .map(|n| XY::new(n as f64 / 10.0, bump(n as f64), 0.01))
            .collect(),
    ));
    p.series.push(Series::line(
        "BoP (μ)",
        ORANGE,
        (0..60)
            .map(|i| XY::new(i as f64 / 24.0, bump(i as f64 / 2.4) - 0.005, 0.012))
            .collect(),
    ));
    p.series.push(
        Series::line(
            "SBoN n = 8 (β sweep)",
            GREEN,
            (0..40)
                .map(|i| XY::new(i as f64 / 20.0, bump(i as f64 / 2.0) - 0.01, f64::NAN))
                .collect(),
        )
        .with_style(SeriesStyle::Dashed)
        .with_band(false),
    );
    p.stars.push(Star {
        name: "BoN n = 5".into(),
        x: 0.5,
        y: bump(5.0),
        color: BLUE,
    });
    p.vlines.push(VLine {
        x: 0.5,
        label: "hacking starts".into(),
        legend: "hacking threshold (BoN n† ≈ 5.4)".into(),
        color: VERMILLION,
    });
    p.hlines.push(HLine {
        y: 0.4,
        legend: "random response (n = 1)".into(),
        color: GREY,
    });
    p.note = Some("KL of SBoN is the plug-in KL of its choice among each prompt's responses.".into());
    p
}

fn decode(png_bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().expect("a PNG header");
    let mut buf = vec![0; reader.output_buffer_size().expect("buffer size")];
    let info = reader.next_frame(&mut buf).expect("a PNG frame");
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

#[test]
fn svg_and_png_of_a_full_plot() {
    let p = sample_plot();
    let svg = p.svg().unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    for text in [
        "KL to reference (nats)",
        "expected true reward",
        "BoN (n = 1…25)",
        "hacking starts",
        "&lt;escaped&gt;",
    ] {
        assert!(svg.contains(text), "SVG lacks {text:?}");
    }
    assert!(svg.contains("font-family=\"sans-serif\""));

    let png_bytes = p.png().unwrap();
    let (w, h, px) = decode(&png_bytes);
    assert_eq!((w, h), hedge_report::DEFAULT_SIZE);
    // Not blank: many distinct colours, and a good share of non-white pixels.
    let non_white = px.chunks(3).filter(|c| c.iter().any(|&v| v < 240)).count();
    assert!(non_white > (w * h / 50) as usize, "{non_white} non-white pixels");
    let mut colours: Vec<[u8; 3]> = px.chunks(3).map(|c| [c[0], c[1], c[2]]).collect();
    colours.sort_unstable();
    colours.dedup();
    assert!(colours.len() > 100, "{} colours", colours.len());
    // Text is drawn: the title row (y in 10..40, left part) has dark pixels.
    let dark_in_title = (10..40).flat_map(|y| (18..400).map(move |x| (x, y))).filter(|&(x, y)| {
        let i = ((y * w + x) * 3) as usize;
        px[i] < 80 && px[i + 1] < 80 && px[i + 2] < 80
    });
    assert!(dark_in_title.count() > 200, "no title text in the PNG");

    if let Ok(dir) = std::env::var("HEDGE_REPORT_DUMP") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(format!("{dir}/sample.png"), &png_bytes).unwrap();
        std::fs::write(format!("{dir}/sample.svg"), &svg).unwrap();
    }
}

#[test]
fn render_by_format_and_errors() {
    let p = sample_plot();
    assert!(p.render(PlotFormat::Svg).unwrap().starts_with(b"<svg"));
    assert!(p.render(PlotFormat::Png).unwrap().starts_with(b"\x89PNG"));
    let empty = Plot::new("nothing", "x", "y");
    let e = empty.svg().unwrap_err().to_string();
    assert!(e.contains("nothing") && e.contains("no finite point"), "{e}");
    // A single point and NaNs do not break the axes.
    let mut one = Plot::new("one", "x", "y");
    one.series.push(Series::line(
        "s",
        BLUE,
        vec![XY::new(1.0, 2.0, f64::NAN), XY::new(f64::NAN, 1.0, 0.1)],
    ));
    one.png().unwrap();
    one.svg().unwrap();
}
