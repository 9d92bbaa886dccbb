//! Parsing of numeric cells from text.

use crate::error::shorten;
use crate::{DataError, Location};

/// Why a cell is not a usable number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumError {
    Empty,
    NotNumber,
    NonFinite,
}

/// Parses a decimal number (surrounding ASCII whitespace allowed). With `allow_bool`, the words `true` and
/// `false` (any case) are read as 1 and 0. Infinite and NaN values (`inf`, `nan`, `1e999`) are rejected.
#[inline]
pub(crate) fn parse_f64(bytes: &[u8], allow_bool: bool) -> Result<f64, NumError> {
    let b = bytes.trim_ascii();
    if b.is_empty() {
        return Err(NumError::Empty);
    }
    match lexical_core::parse::<f64>(b).ok() {
        Some(v) if v.is_finite() => Ok(v),
        Some(_) => Err(NumError::NonFinite),
        None if allow_bool => parse_bool(b).ok_or(NumError::NotNumber),
        None => Err(NumError::NotNumber),
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

/// Turns a [`NumError`] into the matching [`DataError`].
#[cold]
pub(crate) fn num_error(err: NumError, path: &str, location: Location, column: &str, text: &[u8]) -> DataError {
    let (path, column) = (path.to_string(), column.to_string());
    match err {
        NumError::Empty => DataError::Missing { path, location, column },
        NumError::NotNumber => DataError::NotNumeric {
            path,
            location,
            column,
            value: shorten(text),
        },
        NumError::NonFinite => DataError::NonFinite {
            path,
            location,
            column,
            value: shorten(text.trim_ascii()),
        },
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
        assert_eq!(parse_f64(b"1.5", false), Ok(1.5));
        assert_eq!(parse_f64(b" -2e3 ", false), Ok(-2000.0));
        assert_eq!(parse_f64(b"+.5", false), Ok(0.5));
        assert_eq!(parse_f64(b"7", false), Ok(7.0));
        assert_eq!(parse_f64(b"", false), Err(NumError::Empty));
        assert_eq!(parse_f64(b"  ", false), Err(NumError::Empty));
        assert_eq!(parse_f64(b"abc", false), Err(NumError::NotNumber));
        assert_eq!(parse_f64(b"1,5", false), Err(NumError::NotNumber));
        assert_eq!(parse_f64(b"inf", false), Err(NumError::NonFinite));
        assert_eq!(parse_f64(b"-Infinity", false), Err(NumError::NonFinite));
        assert_eq!(parse_f64(b"NaN", false), Err(NumError::NonFinite));
        assert_eq!(parse_f64(b"1e999", false), Err(NumError::NonFinite));
        assert_eq!(parse_f64(b"true", false), Err(NumError::NotNumber));
        assert_eq!(parse_f64(b"true", true), Ok(1.0));
        assert_eq!(parse_f64(b"FALSE", true), Ok(0.0));
        assert_eq!(parse_f64(b"yes", true), Err(NumError::NotNumber));
        assert_eq!(parse_f64(b"\xff", false), Err(NumError::NotNumber));
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
            let ours = parse_f64(text.as_bytes(), false);
            let std = text.trim().parse::<f64>();
            match std {
                Ok(v) if v.is_finite() => proptest::prop_assert_eq!(ours, Ok(v)),
                Ok(_) => proptest::prop_assert_eq!(ours, Err(NumError::NonFinite)),
                Err(_) if text.trim().is_empty() => proptest::prop_assert_eq!(ours, Err(NumError::Empty)),
                Err(_) => proptest::prop_assert_eq!(ours, Err(NumError::NotNumber)),
            }
        }

        /// Shortest and long representations of any finite f64 parse back exactly.
        #[test]
        fn exact_for_any_f64(bits in proptest::num::u64::ANY) {
            let v = f64::from_bits(bits);
            if v.is_finite() {
                for text in [format!("{v}"), format!("{v:e}"), format!("{v:.20e}"), ryu::Buffer::new().format_finite(v).to_string()] {
                    proptest::prop_assert_eq!(parse_f64(text.as_bytes(), false), Ok(text.parse::<f64>().unwrap()), "{}", text);
                }
            }
        }
    }
}
