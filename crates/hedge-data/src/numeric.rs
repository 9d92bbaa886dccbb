//! Parsing of numeric cells from text.

use crate::error::{fmt_number, shorten};
use crate::{DataError, Location, Reward};

/// Why a cell is not a usable number: a reason code, not an error type (the crate's one error is [`DataError`]).
/// It knows neither the file, the line nor the column; [`RewardColumn::error`] turns it into the [`DataError`]
/// that names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BadNumber {
    Empty,
    NotNumber,
    NonFinite,
    /// Finite, but beyond the bound on absolute values.
    TooLarge,
}

/// Parses a decimal number (surrounding ASCII whitespace allowed). With `allow_bool`, the words `true` and
/// `false` (any case) are read as 1 and 0. Infinite and NaN values (`inf`, `nan`, `1e999`) are rejected, and so
/// are values with `|v| > max_abs` (see [`within`]).
#[inline]
pub(crate) fn parse_f64(bytes: &[u8], allow_bool: bool, max_abs: f64) -> Result<f64, BadNumber> {
    let b = bytes.trim_ascii();
    if b.is_empty() {
        return Err(BadNumber::Empty);
    }
    match lexical_core::parse::<f64>(b).ok() {
        Some(v) => within(v, max_abs),
        None if allow_bool => within(parse_bool(b).ok_or(BadNumber::NotNumber)?, max_abs),
        None => Err(BadNumber::NotNumber),
    }
}

#[cold]
fn parse_bool(b: &[u8]) -> Option<f64> {
    if b.eq_ignore_ascii_case(b"true") {
        Some(1.0)
    } else if b.eq_ignore_ascii_case(b"false") {
        Some(0.0)
    } else {
        None
    }
}

/// `v` if `|v| <= max_abs`. This one comparison is the finiteness check too (it is false for infinities and
/// NaN, given a finite `max_abs`), so bounding the rewards costs the loaders nothing over refusing non-finite
/// values; the cold path tells the two cases apart.
#[inline]
pub(crate) fn within(v: f64, max_abs: f64) -> Result<f64, BadNumber> {
    if v.abs() <= max_abs {
        Ok(v)
    } else {
        Err(out_of_bounds(v))
    }
}

#[cold]
fn out_of_bounds(v: f64) -> BadNumber {
    if v.is_finite() {
        BadNumber::TooLarge
    } else {
        BadNumber::NonFinite
    }
}

/// A reward column being read, with what its value errors name.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RewardColumn<'a> {
    /// Column name.
    pub(crate) name: &'a str,
    /// Which reward it holds.
    pub(crate) reward: Reward,
    /// 1-based field number in a CSV record, `None` for other formats.
    pub(crate) field: Option<u64>,
    /// The bound on absolute values ([`crate::LoadOptions::max_abs_reward`]).
    pub(crate) max_abs: f64,
}

impl RewardColumn<'_> {
    /// Parses a text cell of this column (see [`parse_f64`]): true rewards also accept `true` and `false`.
    #[inline]
    pub(crate) fn parse(&self, bytes: &[u8], path: &str, location: Location) -> Result<f64, DataError> {
        parse_f64(bytes, self.reward == Reward::True, self.max_abs).map_err(|e| self.error(e, path, location, bytes))
    }

    /// Checks a value read as a number (see [`within`]).
    #[inline]
    pub(crate) fn check(&self, v: f64, path: &str, location: Location) -> Result<f64, DataError> {
        if v.abs() <= self.max_abs {
            Ok(v)
        } else {
            Err(self.refuse(v, path, location))
        }
    }

    /// The error for a value that is not within the bound (beyond it, or not finite).
    #[cold]
    pub(crate) fn refuse(&self, v: f64, path: &str, location: Location) -> DataError {
        self.error(out_of_bounds(v), path, location, fmt_number(v).as_bytes())
    }

    /// Turns a [`BadNumber`] about the cell `text` into the matching [`DataError`].
    #[cold]
    pub(crate) fn error(&self, err: BadNumber, path: &str, location: Location, text: &[u8]) -> DataError {
        let (path, column) = (path.to_string(), self.name.to_string());
        match err {
            BadNumber::Empty => DataError::Missing { path, location, column },
            BadNumber::NotNumber => DataError::NotNumeric {
                path,
                location,
                column,
                value: shorten(text),
            },
            BadNumber::NonFinite => DataError::NonFinite {
                path,
                location,
                column,
                value: shorten(text.trim_ascii()),
            },
            BadNumber::TooLarge => DataError::RewardTooLarge {
                path,
                location,
                field: self.field,
                column,
                reward: self.reward,
                value: shorten(text.trim_ascii()),
                bound: self.max_abs,
            },
        }
    }
}

/// Formats an unsigned integer in decimal into `buf`.
#[inline]
pub(crate) fn format_u64(mut v: u64, buf: &mut [u8; 24]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    &buf[i..]
}

/// Formats a signed integer in decimal into `buf`.
#[inline]
pub(crate) fn format_i64(v: i64, buf: &mut [u8; 24]) -> &[u8] {
    if v >= 0 {
        return format_u64(v as u64, buf);
    }
    let len = format_u64(v.unsigned_abs(), buf).len();
    let start = buf.len() - len - 1;
    buf[start] = b'-';
    &buf[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(parse_f64(b"1.5", false, f64::MAX), Ok(1.5));
        assert_eq!(parse_f64(b" -2e3 ", false, f64::MAX), Ok(-2000.0));
        assert_eq!(parse_f64(b"+.5", false, f64::MAX), Ok(0.5));
        assert_eq!(parse_f64(b"7", false, f64::MAX), Ok(7.0));
        assert_eq!(parse_f64(b"", false, f64::MAX), Err(BadNumber::Empty));
        assert_eq!(parse_f64(b"  ", false, f64::MAX), Err(BadNumber::Empty));
        assert_eq!(parse_f64(b"abc", false, f64::MAX), Err(BadNumber::NotNumber));
        assert_eq!(parse_f64(b"1,5", false, f64::MAX), Err(BadNumber::NotNumber));
        assert_eq!(parse_f64(b"inf", false, f64::MAX), Err(BadNumber::NonFinite));
        assert_eq!(parse_f64(b"-Infinity", false, f64::MAX), Err(BadNumber::NonFinite));
        assert_eq!(parse_f64(b"NaN", false, f64::MAX), Err(BadNumber::NonFinite));
        assert_eq!(parse_f64(b"1e999", false, f64::MAX), Err(BadNumber::NonFinite));
        assert_eq!(parse_f64(b"true", false, f64::MAX), Err(BadNumber::NotNumber));
        assert_eq!(parse_f64(b"true", true, f64::MAX), Ok(1.0));
        assert_eq!(parse_f64(b"FALSE", true, f64::MAX), Ok(0.0));
        assert_eq!(parse_f64(b"yes", true, f64::MAX), Err(BadNumber::NotNumber));
        assert_eq!(parse_f64(b"\xff", false, f64::MAX), Err(BadNumber::NotNumber));
    }

    #[test]
    fn bounds_absolute_values() {
        assert_eq!(parse_f64(b"1e6", false, 1e6), Ok(1e6));
        assert_eq!(parse_f64(b"-1e6", false, 1e6), Ok(-1e6));
        assert_eq!(parse_f64(b"1000000.00000000001", false, 1e6), Ok(1e6)); // rounds to the bound
        assert_eq!(parse_f64(b"1000000.000001", false, 1e6), Err(BadNumber::TooLarge));
        assert_eq!(parse_f64(b"-1e308", false, 1e6), Err(BadNumber::TooLarge));
        assert_eq!(parse_f64(b"1e999", false, 1e6), Err(BadNumber::NonFinite));
        assert_eq!(parse_f64(b"nan", false, 1e6), Err(BadNumber::NonFinite));
        assert_eq!(parse_f64(b"true", true, 0.5), Err(BadNumber::TooLarge));
        assert_eq!(parse_f64(b"false", true, 0.5), Ok(0.0));
        assert_eq!(within(f64::MAX, f64::MAX), Ok(f64::MAX));
        assert_eq!(within(f64::NEG_INFINITY, f64::MAX), Err(BadNumber::NonFinite));
    }

    #[test]
    fn formats_integers() {
        let mut b = [0u8; 24];
        assert_eq!(format_u64(0, &mut b), b"0");
        assert_eq!(format_u64(1234567890, &mut b), b"1234567890");
        assert_eq!(format_u64(u64::MAX, &mut b), u64::MAX.to_string().as_bytes());
        assert_eq!(format_i64(-42, &mut b), b"-42");
        assert_eq!(format_i64(i64::MIN, &mut b), i64::MIN.to_string().as_bytes());
        assert_eq!(format_i64(7, &mut b), b"7");
    }

    proptest::proptest! {
        /// The fast parser agrees with the standard library on number-like text.
        #[test]
        fn agrees_with_std(text in "[-+]?[0-9]{0,4}(\\.[0-9]{0,20})?([eE][-+]?[0-9]{0,3})?|[-+]?(inf|nan|infinity|NaN|Inf)|[ .eE+0-9a-z-]{0,6}") {
            let ours = parse_f64(text.as_bytes(), false, f64::MAX);
            let std = text.trim().parse::<f64>();
            match std {
                Ok(v) if v.is_finite() => proptest::prop_assert_eq!(ours, Ok(v)),
                Ok(_) => proptest::prop_assert_eq!(ours, Err(BadNumber::NonFinite)),
                Err(_) if text.trim().is_empty() => proptest::prop_assert_eq!(ours, Err(BadNumber::Empty)),
                Err(_) => proptest::prop_assert_eq!(ours, Err(BadNumber::NotNumber)),
            }
        }

        /// Shortest and long representations of any finite f64 parse back exactly.
        #[test]
        fn exact_for_any_f64(bits in proptest::num::u64::ANY) {
            let v = f64::from_bits(bits);
            if v.is_finite() {
                for text in [format!("{v}"), format!("{v:e}"), format!("{v:.20e}"), ryu::Buffer::new().format_finite(v).to_string()] {
                    proptest::prop_assert_eq!(parse_f64(text.as_bytes(), false, f64::MAX), Ok(text.parse::<f64>().unwrap()), "{}", text);
                }
            }
        }
    }
}
