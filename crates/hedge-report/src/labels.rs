//! How methods and parameters are named and coloured in every picture and table.

use hedge_math::MethodKind;

use crate::palette::{self, Rgb};

/// Display name of a method (`"BoN"`, `"BoP"`, `"tilt"`, `"SBoN"`).
pub fn method_label(kind: MethodKind) -> &'static str {
    match kind {
        MethodKind::Bon => "BoN",
        MethodKind::Bop => "BoP",
        MethodKind::Tilt => "tilt",
        MethodKind::Sbon => "SBoN",
    }
}

/// Colour of a method in every plot.
pub fn method_color(kind: MethodKind) -> Rgb {
    match kind {
        MethodKind::Bon => palette::BLUE,
        MethodKind::Bop => palette::ORANGE,
        MethodKind::Tilt => palette::GREEN,
        MethodKind::Sbon => palette::PURPLE,
    }
}

/// Colours of SBoN's curves, one per `n` (cycled).
pub const SBON_COLORS: [Rgb; 4] = [palette::PURPLE, palette::SKY, (120, 60, 140), (150, 150, 40)];

/// The parameter's symbol (`n`, `μ`, `λ`, `β`).
pub fn parameter_symbol(kind: MethodKind) -> &'static str {
    match kind {
        MethodKind::Bon => "n",
        MethodKind::Bop => "μ",
        MethodKind::Tilt => "λ",
        MethodKind::Sbon => "β",
    }
}

/// Axis label of the parameter, with its meaning.
pub fn parameter_axis(kind: MethodKind) -> &'static str {
    match kind {
        MethodKind::Bon => "n (samples per prompt)",
        MethodKind::Bop => "μ (BoP: n = 1 + Poisson(μ) samples)",
        MethodKind::Tilt => "λ (exponential tilt strength)",
        MethodKind::Sbon => "β (SBoN inverse temperature, proxy scale)",
    }
}

/// The y axis of every reward plot.
pub const Y_REWARD: &str = "expected true reward";

/// The last component of a path, for titles (the whole string when it has none).
pub fn file_name(source: &str) -> String {
    std::path::Path::new(source)
        .file_name()
        .map_or_else(|| source.to_string(), |f| f.to_string_lossy().into_owned())
}
