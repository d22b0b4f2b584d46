//! Links and Discord invites: hosts and invite codes found in a message, checked against allow
//! and deny lists by domain (a domain covers its subdomains).

/// Hosts that serve Discord invites, and the path before the code.
const INVITE_HOSTS: &[(&str, &str)] = &[
    ("discord.gg", ""),
    ("discord.com", "invite/"),
    ("discordapp.com", "invite/"),
    ("discord.me", ""),
    ("discord.io", ""),
    ("dsc.gg", ""),
];

/// A link found in a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Lowercase host, without `www.`.
    pub host: String,
    /// The invite code when it is a Discord invite.
    pub invite: Option<String>,
}

fn host_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '.'
}

/// The links in `text` (NFKC-normalised and without invisible characters, so look-alike
/// full-width or zero-width-split links are read too). A link is `scheme://host...` or a bare
/// `host.tld/...` with a letter-only top-level domain of two or more letters.
pub fn find(text: &str) -> Vec<Link> {
    let lower = text.to_lowercase();
    let mut out = Vec::new();
    let bytes = lower.as_bytes();
    let mut i = 0;
    while i < lower.len() {
        // Start of a candidate: not preceded by a host character.
        let c = bytes[i] as char;
        if !host_char(c) || (i > 0 && host_char(bytes[i - 1] as char)) {
            i += 1;
            continue;
        }
        let mut start = i;
        let rest = &lower[i..];
        for scheme in ["https://", "http://"] {
            if rest.starts_with(scheme) {
                start = i + scheme.len();
            }
        }
        let host_end = lower[start..]
            .char_indices()
            .find(|(_, c)| !host_char(*c))
            .map_or(lower.len(), |(j, _)| start + j);
        let host = lower[start..host_end].trim_matches('.');
        let host = host.strip_prefix("www.").unwrap_or(host);
        let tld = host.rsplit('.').next().unwrap_or_default();
        if host.contains('.')
            && tld.len() >= 2
            && tld.chars().all(|c| c.is_ascii_alphabetic())
            && !host.split('.').any(str::is_empty)
        {
            let path = lower[host_end..]
                .strip_prefix('/')
                .map(|p| {
                    p.split(|c: char| c.is_whitespace() || c == '>')
                        .next()
                        .unwrap_or("")
                })
                .unwrap_or("");
            let invite = INVITE_HOSTS
                .iter()
                .find(|(h, _)| *h == host)
                .and_then(|(_, prefix)| path.strip_prefix(prefix))
                .map(|code| {
                    code.chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                        .collect::<String>()
                })
                .filter(|code| !code.is_empty());
            out.push(Link {
                host: host.to_string(),
                invite,
            });
        }
        i = host_end.max(i + 1);
    }
    out
}

/// Normalises a domain as written by an admin (`https://www.Example.com/x` → `example.com`).
pub fn clean_domain(d: &str) -> String {
    let d = d.trim().to_lowercase();
    let d = d
        .strip_prefix("https://")
        .or_else(|| d.strip_prefix("http://"))
        .unwrap_or(&d);
    let d = d.split(['/', '?', '#']).next().unwrap_or_default();
    let d = d.strip_prefix("*.").unwrap_or(d);
    d.strip_prefix("www.")
        .unwrap_or(d)
        .trim_matches('.')
        .to_string()
}

/// Whether `host` is `domain` or one of its subdomains.
pub fn covers(domain: &str, host: &str) -> bool {
    host == domain
        || (host.len() > domain.len()
            && host.ends_with(domain)
            && host.as_bytes()[host.len() - domain.len() - 1] == b'.')
}

/// Reads a deny-list file: one domain per line, `#` comments and blank lines ignored.
pub fn parse_domain_list(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or_default().trim())
        .filter(|l| !l.is_empty())
        // Hosts-file style lines ("0.0.0.0 scam.example") name the domain last.
        .filter_map(|l| l.split_whitespace().last())
        .map(clean_domain)
        .filter(|d| d.contains('.'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_and_invites_are_found() {
        let l = find("join https://discord.gg/AbC123 or discord.com/invite/xyz, see www.Example.org/page and e.g. this");
        assert_eq!(l.len(), 3, "{l:?}");
        assert_eq!(l[0].invite.as_deref(), Some("abc123"));
        assert_eq!(l[1].invite.as_deref(), Some("xyz"));
        assert_eq!(l[2].host, "example.org");
        assert!(covers("example.org", "cdn.example.org"));
        assert!(!covers("example.org", "badexample.org"));
        assert_eq!(clean_domain("https://www.Scam.example/x"), "scam.example");
        assert_eq!(
            parse_domain_list("# scams\nscam.example\n0.0.0.0 other.example # x\n\n"),
            vec!["scam.example", "other.example"]
        );
    }
}
