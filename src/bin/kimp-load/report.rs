//! The results table: one row per SPEC §12 figure with its reference, ratio, budget and verdict.
//! A new budget is one more [`Row`] pushed by whatever measures it.

use std::fmt::Write as _;

/// One line of the table.
#[derive(Debug, Clone)]
pub struct Row {
    pub what: String,
    /// The measured figure, or why there is none.
    pub figure: String,
    value: Option<f64>,
    pub reference: String,
    pub ratio: Option<f64>,
    pub budget: String,
    /// `None`: not measured (pending); otherwise within budget or not.
    pub pass: Option<bool>,
}

impl Row {
    pub fn new(what: impl Into<String>) -> Row {
        Row {
            what: what.into(),
            figure: String::new(),
            value: None,
            reference: String::new(),
            ratio: None,
            budget: String::new(),
            pass: None,
        }
    }

    /// A scenario that could not run: a failed row with the error, so the rest still reports.
    pub fn failed(what: impl Into<String>, error: &anyhow::Error) -> Row {
        let mut row = Row::new(what);
        row.figure = format!("error: {error:#}");
        row.pass = Some(false);
        row
    }

    pub fn figure(mut self, value: f64, unit: &str) -> Row {
        self.value = Some(value);
        self.figure = format!("{} {unit}", human(value));
        self
    }

    pub fn reference(mut self, text: impl Into<String>) -> Row {
        self.reference = text.into();
        self
    }

    pub fn ratio(mut self, ratio: f64) -> Row {
        self.ratio = Some(ratio);
        self
    }

    /// Passes when the figure is at most `limit`.
    pub fn at_most(self, limit: f64, budget: &str) -> Row {
        let ok = self.value.is_some_and(|v| v <= limit);
        self.verdict(ok, budget)
    }

    /// Passes when the ratio is at least `limit`.
    pub fn ratio_at_least(self, limit: f64, budget: &str) -> Row {
        let ok = self.ratio.is_some_and(|r| r >= limit);
        self.verdict(ok, budget)
    }

    /// A further condition of the budget (nothing lost, the rate reached, …).
    pub fn also(mut self, ok: bool) -> Row {
        self.pass = self.pass.map(|p| p && ok);
        self
    }

    fn verdict(mut self, ok: bool, budget: &str) -> Row {
        self.pass = Some(ok);
        self.budget = budget.to_string();
        self
    }
}

/// Three significant digits, thousands grouped for big numbers.
fn human(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    let a = v.abs();
    if a >= 10_000.0 {
        format!("{:.0}k", v / 1_000.0)
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// Every row measured in one run, plus notes on the machine.
#[derive(Debug, Default)]
pub struct Report {
    pub rows: Vec<Row>,
    pub notes: Vec<String>,
}

impl Report {
    pub fn push(&mut self, row: Row) {
        self.rows.push(row);
    }

    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// The table as Markdown (what `BENCHMARKS.md` records).
    pub fn markdown(&self) -> String {
        let mut out = String::from(
            "| what | figure | reference | ratio | budget | result |\n|---|---|---|---|---|---|\n",
        );
        for r in &self.rows {
            let ratio = r.ratio.map(|x| format!("{x:.2}×")).unwrap_or_default();
            let result = match r.pass {
                Some(true) => "pass",
                Some(false) => "**FAIL**",
                None => "—",
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {ratio} | {} | {result} |",
                r.what, r.figure, r.reference, r.budget
            );
        }
        for n in &self.notes {
            let _ = writeln!(out, "\n{n}");
        }
        out
    }

    /// Rows over budget.
    pub fn failures(&self) -> usize {
        self.rows.iter().filter(|r| r.pass == Some(false)).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_follow_the_limits() {
        assert_eq!(
            Row::new("a").figure(3.0, "ms").at_most(2.0, "").pass,
            Some(false)
        );
        assert_eq!(
            Row::new("a").figure(1.0, "ms").at_most(2.0, "").pass,
            Some(true)
        );
        assert_eq!(
            Row::new("a").ratio(0.9).ratio_at_least(1.0, "").pass,
            Some(false)
        );
        assert_eq!(
            Row::new("a")
                .figure(1.0, "ms")
                .at_most(2.0, "")
                .also(false)
                .pass,
            Some(false)
        );
        assert_eq!(Row::new("a").figure(1.0, "ms").pass, None);
    }

    #[test]
    fn markdown_has_a_line_per_row() {
        let mut r = Report::default();
        r.push(Row::new("x").figure(1.5, "ms").at_most(2.0, "≤ 2 ms"));
        r.push(Row::failed("replay", &anyhow::anyhow!("not here")));
        let md = r.markdown();
        assert!(md.contains("| x | 1.50 ms |  |  | ≤ 2 ms | pass |"));
        assert!(md.contains("error: not here"));
    }
}
