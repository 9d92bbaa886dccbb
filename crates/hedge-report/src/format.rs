//! Number formatting for people.

/// `x` with `digits` significant digits, compact (`0.4783`, `12.5`, `1.2e-7`); `–` for non-finite.
pub fn fmt_sig(x: f64, digits: usize) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    let mag = x.abs().log10().floor() as i32;
    if (-4..7).contains(&mag) {
        let decimals = (digits as i32 - 1 - mag).max(0) as usize;
        let s = format!("{x:.decimals$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    } else {
        format!("{x:.prec$e}", prec = digits.saturating_sub(1))
    }
}

/// A number for prose and tables: integers without decimals, others with 4 significant digits.
pub fn fmt_num(x: f64) -> String {
    if x.is_finite() && x == x.round() && x.abs() < 1e9 {
        format!("{}", x as i64)
    } else {
        fmt_sig(x, 4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(fmt_sig(0.478342883, 4), "0.4783");
        assert_eq!(fmt_sig(12.5, 4), "12.5");
        assert_eq!(fmt_sig(f64::NAN, 4), "–");
        assert_eq!(fmt_sig(0.0, 4), "0");
        assert_eq!(fmt_sig(1.2e-7, 2), "1.2e-7");
        assert_eq!(fmt_num(25.0), "25");
        assert_eq!(fmt_num(5.391136), "5.391");
    }
}
