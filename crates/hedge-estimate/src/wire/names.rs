//! hedge-math's enums written as their `name()` strings: the `serialize_with` helpers that the
//! typed results name in their serde attributes. A leaf (it imports nothing of this crate), so
//! that those types need not import the contracts built from them; [`crate::verdict`] keeps the
//! helpers for its own enums.

use hedge_math::{MethodKind, Regime};
use serde::Serializer;

/// A [`Regime`] as its name.
pub(crate) fn regime<S: Serializer>(r: &Regime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(r.name())
}

/// A [`MethodKind`] as its name.
pub(crate) fn method<S: Serializer>(m: &MethodKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(m.name())
}
