//! The aggregates of intervals as PostgreSQL computes them, which neither SQLite (no interval
//! type) nor DataFusion (no sum or avg of intervals; min and max comparing months, then days,
//! then time) has: `min` and `max` by length (a month as 30 days; of equal lengths the later,
//! as interval_smaller and interval_larger keep), `sum` field by field, `avg` the sum scaled by
//! one over the count. One state, stepped by SQLite's aggregate functions
//! (`oltp::intervals`) and by DataFusion's accumulators (`olap::interval_aggregates`).

use crate::value::Interval;

/// Which aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntervalAggregate {
    Min,
    Max,
    Sum,
    Avg,
}

/// What an aggregate has seen so far.
#[derive(Debug, Clone, Copy, Default)]
pub struct IntervalState {
    pub value: Option<Interval>,
    pub count: u64,
}

impl IntervalAggregate {
    pub const ALL: [Self; 4] = [Self::Min, Self::Max, Self::Sum, Self::Avg];

    /// The function both engines know it by.
    pub fn function_name(self) -> &'static str {
        match self {
            Self::Min => "rhei_interval_min",
            Self::Max => "rhei_interval_max",
            Self::Sum => "rhei_interval_sum",
            Self::Avg => "rhei_interval_avg",
        }
    }

    /// The aggregate PostgreSQL calls `name` (`sum`, ...), if it is one of these.
    pub fn of_name(name: &str) -> Option<Self> {
        Some(match name {
            "min" => Self::Min,
            "max" => Self::Max,
            "sum" => Self::Sum,
            "avg" => Self::Avg,
            _ => return None,
        })
    }

    fn combine(self, held: Option<Interval>, next: Interval) -> Option<Interval> {
        let Some(held) = held else { return Some(next) };
        Some(match self {
            Self::Min => if next.length_micros() <= held.length_micros() { next } else { held },
            Self::Max => if next.length_micros() >= held.length_micros() { next } else { held },
            Self::Sum | Self::Avg => held.checked_add(next)?,
        })
    }

    /// Takes one more (non-NULL) value; `None` when a sum leaves the range.
    pub fn step(self, state: &mut IntervalState, next: Interval) -> Option<()> {
        state.value = Some(self.combine(state.value, next)?);
        state.count += 1;
        Some(())
    }

    /// Takes what another state of the same aggregate saw, as if it came after.
    pub fn merge(self, state: &mut IntervalState, other: IntervalState) -> Option<()> {
        if let Some(value) = other.value {
            state.value = Some(self.combine(state.value, value)?);
            state.count += other.count;
        }
        Some(())
    }

    /// Whether [`IntervalAggregate::retract`] can take a value back out (a sliding window
    /// frame): a sum can, an extreme cannot.
    pub fn retracts(self) -> bool {
        matches!(self, Self::Sum | Self::Avg)
    }

    /// Takes back a value [`IntervalAggregate::step`] took (a row leaving a window frame); `None`
    /// when this aggregate cannot or a field overflows.
    pub fn retract(self, state: &mut IntervalState, value: Interval) -> Option<()> {
        if !self.retracts() {
            return None;
        }
        let held = state.value?;
        state.count = state.count.checked_sub(1)?;
        state.value = if state.count == 0 { None } else { Some(held.checked_add(value.negated())?) };
        Some(())
    }

    /// The aggregate's value: `Ok(None)` for NULL (no rows), `Err(())` when out of range.
    #[allow(clippy::result_unit_err)]
    pub fn finish(self, state: IntervalState) -> Result<Option<Interval>, ()> {
        let Some(value) = state.value else { return Ok(None) };
        match self {
            Self::Avg => value.divided(state.count as f64).map(Some).ok_or(()),
            _ => Ok(Some(value)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(text: &str) -> Interval {
        crate::value::parse_interval(text, None).expect("interval")
    }

    fn run(kind: IntervalAggregate, values: &[&str]) -> Option<String> {
        let mut state = IntervalState::default();
        for v in values {
            kind.step(&mut state, iv(v)).expect("in range");
        }
        kind.finish(state).expect("in range").and_then(Interval::to_text)
    }

    #[test]
    fn min_and_max_go_by_length_and_keep_the_later_of_equals() {
        assert_eq!(run(IntervalAggregate::Max, &["40 days", "1 mon", "25 hours"]).as_deref(), Some("40 days"));
        assert_eq!(run(IntervalAggregate::Min, &["1 mon", "40 days", "-1 hours"]).as_deref(), Some("-01:00:00"));
        assert_eq!(run(IntervalAggregate::Max, &["1 day", "24 hours"]).as_deref(), Some("24:00:00"));
        assert_eq!(run(IntervalAggregate::Min, &["24 hours", "1 day"]).as_deref(), Some("1 day"));
        assert_eq!(run(IntervalAggregate::Sum, &[]), None);
    }

    #[test]
    fn a_sum_takes_back_what_leaves_a_window_frame() {
        let mut state = IntervalState::default();
        for v in ["1 mon", "25 hours", "2 days"] {
            IntervalAggregate::Avg.step(&mut state, iv(v)).unwrap();
        }
        IntervalAggregate::Avg.retract(&mut state, iv("1 mon")).unwrap();
        assert_eq!(IntervalAggregate::Avg.finish(state).unwrap().and_then(Interval::to_text).as_deref(), Some("1 day 12:30:00"));
        IntervalAggregate::Avg.retract(&mut state, iv("25 hours")).unwrap();
        IntervalAggregate::Avg.retract(&mut state, iv("2 days")).unwrap();
        assert_eq!(IntervalAggregate::Avg.finish(state).unwrap(), None);
        assert!(IntervalAggregate::Max.retract(&mut IntervalState::default(), iv("1 day")).is_none());
    }

    #[test]
    fn a_merged_state_counts_as_later_rows() {
        let (mut a, mut b) = (IntervalState::default(), IntervalState::default());
        IntervalAggregate::Avg.step(&mut a, iv("1 day")).unwrap();
        IntervalAggregate::Avg.step(&mut b, iv("1 mon")).unwrap();
        IntervalAggregate::Avg.step(&mut b, iv("2 days")).unwrap();
        IntervalAggregate::Avg.merge(&mut a, b).unwrap();
        assert_eq!(IntervalAggregate::Avg.finish(a).unwrap().and_then(Interval::to_text).as_deref(), Some("11 days"));
        assert_eq!(run(IntervalAggregate::Sum, &["1 mon", "25 hours", "-1 day"]).as_deref(), Some("1 mon -1 days +25:00:00"));
        // PostgreSQL 15's answer: its interval_div rounds the month's fraction of days to a
        // microsecond's precision before carrying it on (a product by 1/7 gave .142858).
        let values = ["1 mon 3 days 05:00:00.000001", "7 days 51:00:00", "-1 mon 2 hours", "13 days", "2 mons 1 day", "0.000003 seconds", "11 mons 29 days 23:59:59.999999"];
        assert_eq!(run(IntervalAggregate::Avg, &values).as_deref(), Some("1 mon 33 days 18:34:17.167543"));
    }
}
