//! Colours: the Okabe–Ito palette, distinguishable with the common colour-vision deficiencies.

/// An RGB colour.
pub type Rgb = (u8, u8, u8);

/// Blue (#0072B2).
pub const BLUE: Rgb = (0, 114, 178);
/// Orange (#E69F00).
pub const ORANGE: Rgb = (230, 159, 0);
/// Bluish green (#009E73).
pub const GREEN: Rgb = (0, 158, 115);
/// Vermillion (#D55E00).
pub const VERMILLION: Rgb = (213, 94, 0);
/// Reddish purple (#CC79A7).
pub const PURPLE: Rgb = (204, 121, 167);
/// Sky blue (#56B4E9).
pub const SKY: Rgb = (86, 180, 233);
/// Yellow (#F0E442), for fills only: too light for lines on white.
pub const YELLOW: Rgb = (240, 228, 66);
/// Black.
pub const BLACK: Rgb = (0, 0, 0);
/// Mid grey, for reference lines.
pub const GREY: Rgb = (110, 110, 110);

/// Hex notation `#rrggbb`.
pub fn hex(c: Rgb) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}
