//! The states a signature and a petition can be in, as stored (`status` columns).

/// Where a signature stands. Only a confirmed one that no organizer invalidated is counted
/// (see `db::signatures::counted`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureStatus {
    /// Submitted; waiting for its owner to confirm from their mailbox.
    Pending,
    /// Confirmed from the mailbox.
    Confirmed,
}

impl SignatureStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            SignatureStatus::Pending => "pending",
            SignatureStatus::Confirmed => "confirmed",
        }
    }

    /// Whether a signature in this state counts: confirmed, not invalidated, not withdrawn.
    /// The one definition; `db::signatures::counted` is its SQL spelling, and a test
    /// (`the_sql_definition_of_counted_is_the_rust_one`) keeps the two the same.
    pub const fn counts(self, invalidated: bool, withdrawn: bool) -> bool {
        matches!(self, SignatureStatus::Confirmed) && !invalidated && !withdrawn
    }

    /// The stored value; anything unknown reads as pending (never counted).
    pub fn from_stored(s: &str) -> SignatureStatus {
        if s == SignatureStatus::Confirmed.as_str() {
            SignatureStatus::Confirmed
        } else {
            SignatureStatus::Pending
        }
    }
}

/// Whether an organizer has closed a petition by hand. A petition with `Open` status is still
/// closed once its closing date has passed (`Petition::is_open_at`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PetitionStatus {
    Open,
    Closed,
}

impl PetitionStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            PetitionStatus::Open => "open",
            PetitionStatus::Closed => "closed",
        }
    }

    /// The stored value; anything unknown reads as closed (accepting nothing).
    pub fn from_stored(s: &str) -> PetitionStatus {
        if s == PetitionStatus::Open.as_str() {
            PetitionStatus::Open
        } else {
            PetitionStatus::Closed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_and_unknown_values_are_the_safe_ones() {
        for s in [SignatureStatus::Pending, SignatureStatus::Confirmed] {
            assert_eq!(SignatureStatus::from_stored(s.as_str()), s);
        }
        for s in [PetitionStatus::Open, PetitionStatus::Closed] {
            assert_eq!(PetitionStatus::from_stored(s.as_str()), s);
        }
        assert_eq!(SignatureStatus::from_stored("x"), SignatureStatus::Pending);
        assert_eq!(PetitionStatus::from_stored(""), PetitionStatus::Closed);
    }
}
