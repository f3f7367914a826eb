//! What a signer does: sign, confirm, withdraw, look up a receipt, stop news.

pub mod confirm;
pub mod receipt;
pub mod sign;
pub mod unsubscribe;
pub mod withdraw;
