//! The interview catalog: companies with personas and loops, behavioral questions, system design prompts and coding
//! problems. Parsed from `seeds/` ([`load`]), checked as a whole ([`validate`]), then imported into the database by
//! `db::catalog`. This module knows nothing about the database or HTTP.

pub mod load;
pub mod model;
pub mod validate;

pub use load::{SeedSource, load};
pub use model::*;
pub use validate::{SeedError, SeedErrors};
