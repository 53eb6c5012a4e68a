//! The fee engine: parent fees (Elternbeiträge) computed from rule sets that are data.
//!
//! - [`rules`]: the rule-set file format and its validation; [`RuleBook`] picks the set valid
//!   for a municipality and day.
//! - [`engine`]: one family, one month → each child's fee, reductions (with the amounts the
//!   youth office reimburses) and a line-by-line explanation.
//! - [`money`]: integer cents and percentages, one rounding rule.

pub mod engine;
pub mod money;
pub mod rules;

pub use engine::{family_month, ChildMonthFee, FamilyInput, FeeChild, FeeError, FeeLine, Household, Placement, ReductionAmount};
pub use money::Percent;
pub use rules::{Model, Proration, ReductionKind, RuleBook, RuleSet, RuleSetError};
