//! PostgreSQL's trigonometric functions in degrees (`sind`, `cosd`, `tand`, `cotd`, `asind`,
//! `acosd`, `atand`, `atan2d`), for both engines, neither of which has them. As float.c does,
//! each reduces its argument to the first quadrant and scales the library's answer so the
//! standard angles come out exact (`sind(30)` is 0.5, `tand(45)` 1, `acosd(0.5)` 60), which
//! `sin(radians(30))` (0.49999999999999994) is not.

use crate::error::EngineError;

const RADIANS_PER_DEGREE: f64 = 0.017_453_292_519_943_295_769_2;

/// A function of one or two doubles in degrees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DegreeFunction {
    Sind,
    Cosd,
    Tand,
    Cotd,
    Asind,
    Acosd,
    Atand,
    Atan2d,
}

impl DegreeFunction {
    pub const ALL: [DegreeFunction; 8] = [Self::Sind, Self::Cosd, Self::Tand, Self::Cotd, Self::Asind, Self::Acosd, Self::Atand, Self::Atan2d];

    pub fn name(self) -> &'static str {
        match self {
            Self::Sind => "sind",
            Self::Cosd => "cosd",
            Self::Tand => "tand",
            Self::Cotd => "cotd",
            Self::Asind => "asind",
            Self::Acosd => "acosd",
            Self::Atand => "atand",
            Self::Atan2d => "atan2d",
        }
    }

    pub fn arity(self) -> usize {
        if self == Self::Atan2d { 2 } else { 1 }
    }

    /// The function of `x` (and `y`, atan2d's second argument).
    ///
    /// # Errors
    /// An infinite angle, or an inverse's argument outside [-1, 1]: 22003 "input is out of
    /// range", as PostgreSQL.
    pub fn apply(self, x: f64, y: f64) -> Result<f64, EngineError> {
        if x.is_nan() || (self == Self::Atan2d && y.is_nan()) {
            return Ok(f64::NAN);
        }
        let out_of_range = || EngineError::InputOutOfRange;
        let result = match self {
            Self::Sind | Self::Cosd | Self::Tand | Self::Cotd => {
                if x.is_infinite() {
                    return Err(out_of_range());
                }
                // Reduced to [0, 90]; each step's sign follows the function's symmetry.
                let (mut angle, mut sign) = (x % 360.0, 1.0);
                let odd = self != Self::Cosd;
                if angle < 0.0 {
                    angle = -angle;
                    if odd {
                        sign = -sign;
                    }
                }
                if angle > 180.0 {
                    angle = 360.0 - angle;
                    if odd {
                        sign = -sign;
                    }
                }
                if angle > 90.0 {
                    angle = 180.0 - angle;
                    if self != Self::Sind {
                        sign = -sign;
                    }
                }
                let value = match self {
                    Self::Sind => sind_q1(angle),
                    Self::Cosd => cosd_q1(angle),
                    Self::Tand => sind_q1(angle) / cosd_q1(angle) / (sind_q1(45.0) / cosd_q1(45.0)),
                    _ => cosd_q1(angle) / sind_q1(angle) / (cosd_q1(45.0) / sind_q1(45.0)),
                };
                // No negative zero (tand(180)).
                sign * value + 0.0
            }
            Self::Asind | Self::Acosd => {
                if !(-1.0..=1.0).contains(&x) {
                    return Err(out_of_range());
                }
                match (self, x >= 0.0) {
                    (Self::Asind, true) => asind_q1(x),
                    (Self::Asind, false) => -asind_q1(-x),
                    (_, true) => acosd_q1(x),
                    _ => 90.0 + asind_q1(-x),
                }
            }
            Self::Atand => x.atan() / 1.0_f64.atan() * 45.0,
            Self::Atan2d => x.atan2(y) / 1.0_f64.atan() * 45.0,
        };
        Ok(result)
    }
}

fn sind_0_to_30(x: f64) -> f64 {
    (x * RADIANS_PER_DEGREE).sin() / (30.0 * RADIANS_PER_DEGREE).sin() / 2.0
}

fn cosd_0_to_60(x: f64) -> f64 {
    1.0 - (1.0 - (x * RADIANS_PER_DEGREE).cos()) / (1.0 - (60.0 * RADIANS_PER_DEGREE).cos()) / 2.0
}

fn sind_q1(x: f64) -> f64 {
    if x <= 30.0 { sind_0_to_30(x) } else { cosd_0_to_60(90.0 - x) }
}

fn cosd_q1(x: f64) -> f64 {
    if x <= 60.0 { cosd_0_to_60(x) } else { sind_0_to_30(90.0 - x) }
}

fn asind_q1(x: f64) -> f64 {
    if x <= 0.5 { x.asin() / 0.5_f64.asin() * 30.0 } else { 90.0 - x.acos() / 0.5_f64.acos() * 60.0 }
}

fn acosd_q1(x: f64) -> f64 {
    if x <= 0.5 { 90.0 - x.asin() / 0.5_f64.asin() * 30.0 } else { x.acos() / 0.5_f64.acos() * 60.0 }
}

#[cfg(test)]
mod tests {
    use super::DegreeFunction::*;

    /// Expected values are PostgreSQL 15's.
    #[test]
    fn standard_angles_are_exact() {
        assert_eq!(Sind.apply(30.0, 0.0).unwrap(), 0.5);
        assert_eq!(Sind.apply(-210.0, 0.0).unwrap(), 0.5);
        assert_eq!(Cosd.apply(60.0, 0.0).unwrap(), 0.5);
        assert_eq!(Cosd.apply(120.0, 0.0).unwrap(), -0.5);
        assert_eq!(Tand.apply(45.0, 0.0).unwrap(), 1.0);
        assert_eq!(Tand.apply(180.0, 0.0).unwrap().to_bits(), 0.0_f64.to_bits());
        assert_eq!(Cotd.apply(45.0, 0.0).unwrap(), 1.0);
        assert_eq!(Asind.apply(0.5, 0.0).unwrap(), 30.0);
        assert_eq!(Acosd.apply(0.5, 0.0).unwrap(), 60.0);
        assert_eq!(Acosd.apply(-0.5, 0.0).unwrap(), 120.0);
        assert_eq!(Atand.apply(1.0, 0.0).unwrap(), 45.0);
        assert_eq!(Atan2d.apply(1.0, -1.0).unwrap(), 135.0);
        assert_eq!(Asind.apply(2.0, 0.0).unwrap_err().sqlstate(), "22003");
        assert_eq!(Sind.apply(f64::INFINITY, 0.0).unwrap_err().sqlstate(), "22003");
    }
}
