//! Integer money arithmetic. Fees are cents, shares are hundredths of a percent; every rounding
//! is commercial (half up) and happens in exactly one place, so a table can be reproduced to the
//! cent.

use serde::{Deserialize, Deserializer, Serialize};

/// A percentage in hundredths: 19,89 % = `Percent(1989)`. Written in rule files as a number
/// with at most two decimals (`60`, `19.89`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(into = "f64")]
pub struct Percent(pub u32);

impl Percent {
    pub const HUNDRED: Percent = Percent(10_000);

    /// `cents × self`, rounded half up (cents are never negative here).
    pub fn of(self, cents: i64) -> i64 {
        round_div(cents as i128 * self.0 as i128, 10_000)
    }
}

impl From<Percent> for f64 {
    fn from(p: Percent) -> f64 {
        p.0 as f64 / 100.0
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        let hundredths = (v * 100.0).round();
        if !v.is_finite() || v < 0.0 || (hundredths / 100.0 - v).abs() > 1e-9 || hundredths > 1_000_000.0 {
            return Err(serde::de::Error::custom(format!("{v} ist kein Prozentsatz mit höchstens zwei Nachkommastellen")));
        }
        Ok(Percent(hundredths as u32))
    }
}

/// `num / den` rounded half up, for `num ≥ 0`, `den > 0`; negative `num` rounds half away
/// from zero so that `round_div(-x) == -round_div(x)`.
pub fn round_div(num: i128, den: i128) -> i64 {
    debug_assert!(den > 0);
    let q = (num.abs() * 2 + den) / (den * 2);
    (if num < 0 { -q } else { q }) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_up() {
        assert_eq!(round_div(5, 10), 1);
        assert_eq!(round_div(4, 10), 0);
        assert_eq!(round_div(-5, 10), -1);
        assert_eq!(Percent(6000).of(27632), 16579); // 165,792
        assert_eq!(Percent(9000).of(27632), 24869); // 248,688
        assert_eq!(Percent(5000).of(27632), 13816);
    }
}
