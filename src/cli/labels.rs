//! `usmca-bot labels export` and `usmca-bot calibrate`: the tuning loop from the moderators'
//! verdicts. The work is `storage` (the labelled cases) and `domain::calibration` (pure).

use super::db::with_storage;
use crate::domain::calibration;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// Writes a guild's labelled cases as CSV.
pub fn export(path: Option<&Path>, guild: u64, output: Option<&Path>) -> ExitCode {
    with_storage(path, |storage, _| async move {
        let cases = match storage.labelled_cases(guild).await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        let sink: Box<dyn Write> = match output {
            Some(p) => match std::fs::File::create(p) {
                Ok(f) => Box::new(f),
                Err(e) => {
                    eprintln!("error: cannot write {}: {e}", p.display());
                    return ExitCode::from(super::EXIT_CONFIG);
                }
            },
            None => Box::new(std::io::stdout().lock()),
        };
        let mut w = csv::Writer::from_writer(sink);
        let mut rows = 0usize;
        let mut result = w.write_record(["case_no", "action", "behaviour_score", "label", "text"]);
        for c in &cases {
            if result.is_err() {
                break;
            }
            result = w.write_record([
                c.case_no.to_string(),
                c.action.to_string(),
                c.behaviour_score
                    .map(|s| format!("{s:.4}"))
                    .unwrap_or_default(),
                c.label.clone().unwrap_or_default(),
                c.message_excerpt.clone().unwrap_or_default(),
            ]);
            rows += 1;
        }
        match result.and_then(|_| w.flush().map_err(Into::into)) {
            Ok(()) => {
                eprintln!("{rows} labelled cases of guild {guild} written");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: writing the CSV: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

/// Prints the candidate thresholds and the proposal.
pub fn calibrate(path: Option<&Path>, guild: u64, max_reversal_rate: f64) -> ExitCode {
    if !(0.0..=1.0).contains(&max_reversal_rate) {
        eprintln!("error: --max-reversal-rate must be between 0 and 1, got {max_reversal_rate}");
        return ExitCode::from(super::EXIT_CONFIG);
    }
    with_storage(path, |storage, config| async move {
        let (labelled, settings) = match (
            storage.labelled_scores(guild).await,
            storage.guild_settings(guild).await,
        ) {
            (Ok(l), Ok((s, _))) => (l, s),
            (Err(e), _) | (_, Err(e)) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        let t = settings.effective(&config).thresholds;
        let current = [t.warn, t.timeout, t.kick, t.ban];
        println!(
            "{} labelled cases ({} confirmed, {} reversed); target reversal rate <= {max_reversal_rate}",
            labelled.len(),
            labelled.iter().filter(|l| l.confirmed).count(),
            labelled.iter().filter(|l| !l.confirmed).count()
        );
        println!(
            "{:>9}  {:>5}  {:>9}  {:>8}  {:>13}  {:>6}",
            "warn at", "acted", "confirmed", "reversed", "reversal rate", "recall"
        );
        for c in calibration::candidates(&labelled) {
            println!(
                "{:>9.4}  {:>5}  {:>9}  {:>8}  {:>13.3}  {:>6.3}",
                c.threshold, c.acted, c.confirmed, c.reversed, c.reversal_rate, c.recall
            );
        }
        match calibration::propose(&labelled, max_reversal_rate) {
            Some(p) => {
                let s = calibration::shifted(current, p.threshold);
                println!(
                    "proposal: warn {:.3} · timeout {:.3} · kick {:.3} · ban {:.3} (now {:.3} · {:.3} · {:.3} · {:.3}): reversal rate {:.3}, recall {:.3}",
                    s[0], s[1], s[2], s[3], current[0], current[1], current[2], current[3], p.reversal_rate, p.recall
                );
                println!("apply it with /mod config suggest, or /mod config set thresholds.warn {:.3} (and timeout, kick, ban)", s[0]);
                ExitCode::SUCCESS
            }
            None => {
                println!("no threshold keeps the reversal rate at or under {max_reversal_rate} (too few labelled cases, or the target is too strict)");
                ExitCode::from(1)
            }
        }
    })
}
