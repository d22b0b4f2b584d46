//! Discord's role hierarchy for a moderator's action: a moderator may act only on members whose
//! highest role is below their own (the server owner on anyone but themselves), and the bot
//! only on members below its own highest role. Pure.

/// The highest role positions involved (0: no role but @everyone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ranks {
    /// The moderator's highest role position.
    pub actor: i64,
    /// The moderator owns the server.
    pub actor_is_owner: bool,
    /// The member's highest role position.
    pub target: i64,
    /// The member owns the server.
    pub target_is_owner: bool,
    /// The bot's highest role position.
    pub bot: i64,
}

/// Why a moderator's action on a member is not allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HierarchyError {
    /// Acting on oneself.
    #[error("You cannot moderate yourself.")]
    Yourself,
    /// The member owns the server.
    #[error("Nobody can moderate the server owner.")]
    Owner,
    /// The member's highest role is not below the moderator's.
    #[error("<@{0}>'s highest role is equal to or above yours; ask someone with a higher role.")]
    NotBelowYou(u64),
    /// The member's highest role is not below the bot's.
    #[error("My highest role is not above <@{0}>'s, so Discord would refuse; move the usmca-bot role above theirs in Server Settings → Roles.")]
    NotBelowBot(u64),
}

/// Whether `actor` may have the bot act on `target`.
pub fn check(actor: u64, target: u64, r: Ranks) -> Result<(), HierarchyError> {
    if actor == target {
        return Err(HierarchyError::Yourself);
    }
    if r.target_is_owner {
        return Err(HierarchyError::Owner);
    }
    if !r.actor_is_owner && r.target >= r.actor {
        return Err(HierarchyError::NotBelowYou(target));
    }
    if r.target >= r.bot {
        return Err(HierarchyError::NotBelowBot(target));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ranks(actor: i64, target: i64, bot: i64) -> Ranks {
        Ranks {
            actor,
            actor_is_owner: false,
            target,
            target_is_owner: false,
            bot,
        }
    }

    #[test]
    fn equal_or_higher_roles_are_refused() {
        assert_eq!(check(1, 2, ranks(5, 3, 9)), Ok(()));
        assert_eq!(
            check(1, 2, ranks(5, 5, 9)),
            Err(HierarchyError::NotBelowYou(2))
        );
        assert_eq!(
            check(1, 2, ranks(5, 4, 4)),
            Err(HierarchyError::NotBelowBot(2))
        );
        assert_eq!(check(1, 1, ranks(5, 0, 9)), Err(HierarchyError::Yourself));
        let owner = Ranks {
            actor_is_owner: true,
            ..ranks(0, 7, 9)
        };
        assert_eq!(check(1, 2, owner), Ok(()));
        let target_owner = Ranks {
            target_is_owner: true,
            ..ranks(9, 0, 9)
        };
        assert_eq!(check(1, 2, target_owner), Err(HierarchyError::Owner));
    }

    proptest! {
        #[test]
        fn allowed_only_below_both(actor in 0i64..20, target in 0i64..20, bot in 0i64..20) {
            let ok = check(1, 2, ranks(actor, target, bot)).is_ok();
            prop_assert_eq!(ok, target < actor && target < bot);
        }
    }
}
