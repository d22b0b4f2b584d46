//! The invite URL in the README asks for exactly the permissions the bot's calls need.

#[test]
fn the_readme_invite_asks_for_every_permission_the_bot_uses() {
    let want = usmca_bot::discord::permissions::invite_permissions();
    let readme = crate::read("README.md");
    let found: Vec<u64> = readme
        .split("permissions=")
        .skip(1)
        .filter_map(|rest| {
            rest.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .ok()
        })
        .collect();
    assert!(
        !found.is_empty(),
        "README has no invite URL with permissions="
    );
    for p in found {
        assert_eq!(
            p, want,
            "README invite permissions {p} differ from the bot's needs {want} (src/discord/permissions.rs)"
        );
    }
    assert!(readme.contains(&format!("**{want}**")));
}
