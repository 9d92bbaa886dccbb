//! What is wrong with continuous hedging right now, part by part: the source of `/health`'s
//! `degraded` and its reasons.
//!
//! Each part sets its problem when it fails and clears it when it works again, so `/health` follows the
//! current state: the store thread probes on every poll (a store that recovered is reported healthy
//! within one poll), the writer on every batch, the tuner on every round.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// A part of continuous hedging that can be in trouble.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Part {
    /// The store connection of the tuner, feedback and gold labels (probed every poll).
    Store,
    /// The writer of request records.
    Writer,
    /// The last tuning round.
    Tuner,
    /// The store's file was found removed or replaced (and was re-created): reported for at least one
    /// poll.
    Replaced,
}

impl Part {
    /// The key in `/health`'s `problems`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Part::Store => "store",
            Part::Writer => "writer",
            Part::Tuner => "tuner",
            Part::Replaced => "store_replaced",
        }
    }
}

/// The current problems, by part.
#[derive(Debug, Default)]
pub(crate) struct Health {
    problems: Mutex<BTreeMap<Part, String>>,
}

impl Health {
    /// `part` is in trouble, for `reason`.
    pub(crate) fn set(&self, part: Part, reason: impl Into<String>) {
        self.problems
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(part, reason.into());
    }

    /// `part` works.
    pub(crate) fn clear(&self, part: Part) {
        self.problems.lock().unwrap_or_else(|e| e.into_inner()).remove(&part);
    }

    /// Every current problem, by part name.
    pub(crate) fn problems(&self) -> BTreeMap<&'static str, String> {
        self.problems
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(p, r)| (p.name(), r.clone()))
            .collect()
    }

    /// Whether the store (its connection or the writer) is in trouble.
    pub(crate) fn store_degraded(&self) -> bool {
        let p = self.problems.lock().unwrap_or_else(|e| e.into_inner());
        p.contains_key(&Part::Store) || p.contains_key(&Part::Writer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_set_and_cleared_independently() {
        let h = Health::default();
        assert!(h.problems().is_empty() && !h.store_degraded());
        h.set(Part::Tuner, "round 3 failed");
        assert!(!h.store_degraded());
        h.set(Part::Writer, "dropped");
        assert!(h.store_degraded());
        assert_eq!(h.problems().len(), 2);
        h.clear(Part::Writer);
        assert_eq!(h.problems().into_keys().collect::<Vec<_>>(), vec!["tuner"]);
    }
}
