//! Building a [`Calibration`] from in-memory groups or rows, by the same rules as the loaders.

use crate::accumulate::Accumulator;
use crate::{Calibration, DataError, Location};

/// Source name used for in-memory data.
const MEMORY: &str = "<memory>";

impl Calibration {
    /// Builds a calibration from in-memory groups `(prompt id, proxy rewards, true rewards)`.
    ///
    /// The same rules as for files apply: groups with the same id are merged (in order), prompts with a single
    /// response are dropped and counted in [`skipped_single`](Calibration::skipped_single), and it is an error
    /// if a value is not finite ([`DataError::NonFinite`], naming the 1-based row counted over all groups), if
    /// a group's slices differ in length ([`DataError::LengthMismatch`]), if there is no row
    /// ([`DataError::Empty`]) or no prompt with two or more responses. The source is `"<memory>"`.
    ///
    /// ```
    /// use hedge_data::Calibration;
    /// let cal = Calibration::from_groups([
    ///     ("p1", vec![0.1, 0.9], vec![0.0, 1.0]),
    ///     ("p2", vec![0.5], vec![1.0]),
    /// ])?;
    /// assert_eq!(cal.num_prompts(), 1);
    /// assert_eq!(cal.skipped_single, 1);
    /// # Ok::<(), hedge_data::DataError>(())
    /// ```
    pub fn from_groups<I, S, P, T>(groups: I) -> Result<Self, DataError>
    where
        I: IntoIterator<Item = (S, P, T)>,
        S: AsRef<str>,
        P: AsRef<[f64]>,
        T: AsRef<[f64]>,
    {
        let mut acc = Accumulator::new(MEMORY, "prompt_id", false);
        let mut row = 0u64;
        for (id, proxy, truth) in groups {
            let (id, proxy, truth) = (id.as_ref(), proxy.as_ref(), truth.as_ref());
            if proxy.len() != truth.len() {
                return Err(DataError::LengthMismatch {
                    prompt: id.to_string(),
                    proxy_len: proxy.len(),
                    truth_len: truth.len(),
                });
            }
            if proxy.is_empty() {
                continue;
            }
            acc.set_prompt(id.as_bytes(), Location::Row(row + 1))?;
            for (&x, &y) in proxy.iter().zip(truth) {
                row += 1;
                let loc = Location::Row(row);
                check_finite(x, "proxy", loc)?;
                check_finite(y, "true", loc)?;
                acc.push(None, x, y, loc)?;
            }
        }
        acc.finish(MEMORY.to_string())
    }

    /// Builds a calibration from in-memory rows `(prompt id, proxy, truth)`, in any order; the same rules as
    /// [`Calibration::from_groups`] apply.
    ///
    /// ```
    /// use hedge_data::Calibration;
    /// let cal = Calibration::from_rows([("a", 1.0, 0.0), ("b", 2.0, 1.0), ("a", 3.0, 1.0), ("b", 4.0, 0.0)])?;
    /// assert_eq!(cal.prompt(0), ("a", &[1.0, 3.0][..], &[0.0, 1.0][..]));
    /// # Ok::<(), hedge_data::DataError>(())
    /// ```
    pub fn from_rows<I, S>(rows: I) -> Result<Self, DataError>
    where
        I: IntoIterator<Item = (S, f64, f64)>,
        S: AsRef<str>,
    {
        let mut acc = Accumulator::new(MEMORY, "prompt_id", false);
        for (i, (id, x, y)) in rows.into_iter().enumerate() {
            let loc = Location::Row(i as u64 + 1);
            acc.set_prompt(id.as_ref().as_bytes(), loc)?;
            check_finite(x, "proxy", loc)?;
            check_finite(y, "true", loc)?;
            acc.push(None, x, y, loc)?;
        }
        acc.finish(MEMORY.to_string())
    }
}

fn check_finite(v: f64, column: &str, location: Location) -> Result<(), DataError> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(DataError::NonFinite {
            path: MEMORY.into(),
            location,
            column: column.into(),
            value: v.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_groups_rules() {
        let cal = Calibration::from_groups([
            ("a", vec![1.0, 2.0], vec![0.0, 0.0]),
            ("b", vec![3.0], vec![1.0]),
            ("a", vec![4.0], vec![1.0]),
            ("c", vec![], vec![]),
            ("d", vec![5.0, 6.0, 7.0], vec![0.5, 0.5, 0.5]),
        ])
        .unwrap();
        assert_eq!(cal.prompt_ids, ["a", "d"]);
        assert_eq!(cal.offsets, [0, 3, 6]);
        assert_eq!(cal.proxy, [1.0, 2.0, 4.0, 5.0, 6.0, 7.0]);
        assert_eq!(cal.skipped_single, 1);
        assert_eq!(cal.rows_read, 7);
        assert_eq!(cal.max_responses(), 3);
        assert_eq!(cal.min_responses(), 3);
        assert_eq!(cal.source, "<memory>");
        assert_eq!(cal.rows().count(), 6);

        let err = Calibration::from_groups([("a", vec![1.0, f64::NAN], vec![0.0, 0.0])]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "<memory>: row 2: column \"proxy\": NaN is not a finite number"
        );
        let err = Calibration::from_groups([("a", vec![1.0, 2.0], vec![0.0])]).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::LengthMismatch {
                    proxy_len: 2,
                    truth_len: 1,
                    ..
                }
            ),
            "{err}"
        );
        let err = Calibration::from_groups(Vec::<(&str, Vec<f64>, Vec<f64>)>::new()).unwrap_err();
        assert!(matches!(err, DataError::Empty { .. }));
        let err = Calibration::from_rows([("a", 1.0, 1.0), ("b", 1.0, 1.0)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "<memory>: no prompt has two or more responses (2 prompts, each with a single response)"
        );
        let err = Calibration::from_rows([("a", 1.0, 1.0), ("", 1.0, 1.0)]).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::Missing {
                    location: Location::Row(2),
                    ..
                }
            ),
            "{err}"
        );
    }
}
