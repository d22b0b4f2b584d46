//! `usmca-bot run` (and no subcommand) refuses to start with a clear reason.

use super::{stderr, usmca};

#[test]
fn without_a_token_it_exits_2_and_says_which_variable_to_set() {
    for args in [&["run"][..], &[][..]] {
        let out = usmca(args, &[]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains("DISCORD_TOKEN"), "{}", stderr(&out));
    }
}

#[test]
fn an_unreachable_database_is_named_without_its_password() {
    let out = usmca(
        &["run"],
        &[
            ("DISCORD_TOKEN", "token"),
            ("DATABASE_URL", "postgres://bot:s3cret@127.0.0.1:1/usmca"),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("could not connect to Postgres") && err.contains("DATABASE_URL"),
        "{err}"
    );
    assert!(!err.contains("s3cret"), "the password never prints: {err}");
}
