/// A petition's ladder of signature goals, strictly increasing (`[1000, 5500]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoalLadder(Vec<i32>);

impl GoalLadder {
    pub fn parse(mut goals: Vec<i64>) -> Result<GoalLadder, String> {
        if goals.is_empty() {
            return Err("give at least one goal".into());
        }
        goals.sort_unstable();
        goals.dedup();
        if goals[0] < 1 || *goals.last().unwrap_or(&0) > 1_000_000_000 {
            return Err("goals must be between 1 and 1,000,000,000".into());
        }
        Ok(GoalLadder(goals.into_iter().map(|g| g as i32).collect()))
    }

    pub fn as_slice(&self) -> &[i32] {
        &self.0
    }

    /// The first goal not yet reached, or the last one when every goal is reached.
    pub fn current(&self, count: i64) -> i32 {
        self.0
            .iter()
            .copied()
            .find(|&g| i64::from(g) > count)
            .or_else(|| self.0.last().copied())
            .unwrap_or(0)
    }

    /// Whether at least one goal has been reached (the page then says "Next goal").
    pub fn any_reached(&self, count: i64) -> bool {
        self.0.first().is_some_and(|&g| count >= i64::from(g))
    }

    /// Progress toward the current goal in percent, 0 to 100.
    pub fn percent(&self, count: i64) -> u32 {
        let goal = i64::from(self.current(count)).max(1);
        ((count.max(0) * 100) / goal).min(100) as u32
    }

    pub fn from_stored(goals: Vec<i32>) -> GoalLadder {
        let mut goals = goals;
        goals.sort_unstable();
        GoalLadder(goals)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_goal_is_the_first_unreached_then_the_last() {
        let l = GoalLadder::parse(vec![50_000, 10_000, 25_000]).unwrap();
        assert_eq!(l.current(3_807), 10_000);
        assert!(!l.any_reached(3_807));
        assert_eq!(l.current(42_424), 50_000);
        assert!(l.any_reached(42_424));
        assert_eq!(l.current(60_000), 50_000);
        assert_eq!(l.percent(60_000), 100);
        assert_eq!(GoalLadder::parse(vec![5500]).unwrap().percent(3807), 69);
    }

    #[test]
    fn empty_or_nonpositive_ladders_are_refused() {
        assert!(GoalLadder::parse(vec![]).is_err());
        assert!(GoalLadder::parse(vec![0]).is_err());
    }
}
