//! The refresh-rotation rule (docs/api-decisions.md, "Accounts and tokens"): a presented
//! refresh token is rotated into a new pair; presenting it again is reuse (its family is
//! revoked) only when a token issued from it was presented too, or when it was itself
//! superseded. A token whose children were never presented may be presented again: within the
//! reuse grace its new child is a sibling; past it, its unused children are superseded so that
//! one branch stays live. That keeps the frontend that re-presents its first refresh token
//! signed in, and still ends a login whose rotated token came back after its successor was used.

use chrono::{DateTime, Duration, Utc};
use meetin_aws::{Claim, EphemeralStore, Rotated, StoreError, SupersedeOutcome, TokenRecord};
use meetin_core::jwt::REFRESH_TOKEN_LIFETIME;

/// Children one rotation may have: the first, plus siblings from presentations within the
/// grace (the frontend's dashboard fires two requests at once, a few tabs a few more). Bounds
/// the record and the writes that supersede them.
pub const MAX_CHILDREN: usize = 8;

/// Decisions per request; each conflicting write means another instance changed the record,
/// which the next decision reads.
const MAX_ATTEMPTS: usize = 5;

/// What presenting a refresh token comes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The new pair (with the child named to [`rotate`]) may be issued.
    Granted,
    /// Reuse: the caller revokes the family and refuses.
    Reuse,
    /// Refused without ending the login: it lost a race past the grace to another
    /// presentation of the same token (that one's pair is the live branch), or the rotation
    /// has [`MAX_CHILDREN`] already.
    Refused,
}

/// Presents refresh token `jti` (expiring at `until`), whose new pair would carry refresh
/// token `child`, at `now`, with reuse grace `grace`.
pub async fn rotate(
    store: &EphemeralStore,
    jti: &str,
    child: &str,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
    grace: std::time::Duration,
) -> Result<Outcome, StoreError> {
    // The rotation this request tried to replace, once such a write was refused.
    let mut replaced: Option<Option<DateTime<Utc>>> = None;
    for _ in 0..MAX_ATTEMPTS {
        let record = match store.claim_rotation(jti, child, until, now).await? {
            Claim::FirstRotation => return Ok(Outcome::Granted),
            Claim::Seen(record) => record,
        };
        let lost_race = match (&record, replaced) {
            (TokenRecord::Rotated(r), Some(seen)) => r.rotated_at != seen,
            _ => false,
        };
        match decide(&record, now, grace, lost_race) {
            Step::Done(outcome) => return Ok(outcome),
            Step::Sibling { rotated_at } => {
                if store
                    .add_sibling(jti, child, rotated_at, MAX_CHILDREN)
                    .await?
                {
                    return Ok(Outcome::Granted);
                }
            }
            Step::Supersede(Rotated {
                rotated_at,
                children,
                generation,
            }) => {
                // A child's lifetime started at or before now.
                let children_expire = now + REFRESH_TOKEN_LIFETIME;
                for unused in children.unwrap_or_default() {
                    let outcome = store.supersede(&unused, children_expire, now).await?;
                    if outcome == SupersedeOutcome::Used {
                        return Ok(Outcome::Reuse);
                    }
                }
                if store.rerotate(jti, child, generation, now).await? {
                    return Ok(Outcome::Granted);
                }
                replaced = Some(rotated_at);
            }
        }
    }
    Ok(Outcome::Refused)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Done(Outcome),
    /// Within the grace: add a child to the rotation at `rotated_at`.
    Sibling {
        rotated_at: DateTime<Utc>,
    },
    /// Past the grace: supersede these children (each must be unused), then start a new
    /// rotation if the record is still at this generation.
    Supersede(Rotated),
}

/// The rule, on what the store holds for a token presented before. `lost_race`: this request
/// tried to replace the rotation and another presentation replaced it first.
fn decide(
    record: &TokenRecord,
    now: DateTime<Utc>,
    grace: std::time::Duration,
    lost_race: bool,
) -> Step {
    let rotated = match record {
        // Its parent was presented again after it was issued: two holders.
        TokenRecord::Superseded => return Step::Done(Outcome::Reuse),
        TokenRecord::Rotated(rotated) => rotated,
    };
    let within_grace = rotated.rotated_at.filter(|&at| within(grace, at, now));
    match (within_grace, &rotated.children) {
        // Written before children were kept: the grace alone decides, as it did.
        (Some(_), None) => Step::Done(Outcome::Granted),
        (None, None) => Step::Done(Outcome::Reuse),
        (Some(_), Some(children)) if children.len() >= MAX_CHILDREN => Step::Done(Outcome::Refused),
        (Some(rotated_at), Some(_)) => Step::Sibling { rotated_at },
        (None, Some(_)) if lost_race => Step::Done(Outcome::Refused),
        (None, Some(_)) => Step::Supersede(rotated.clone()),
    }
}

/// Whether a rotation at `at` is at most `grace` old; another instance's clock may be ahead,
/// so a negative age is "just now". A zero grace holds nothing.
fn within(grace: std::time::Duration, at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    !grace.is_zero() && Duration::from_std(grace).is_ok_and(|grace| now - at <= grace)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRACE: std::time::Duration = std::time::Duration::from_secs(30);

    fn rotated(age_secs: i64, children: Option<usize>, now: DateTime<Utc>) -> TokenRecord {
        TokenRecord::Rotated(Rotated {
            rotated_at: Some(now - Duration::seconds(age_secs)),
            children: children.map(|count| (0..count).map(|i| format!("child{i}")).collect()),
            generation: 3,
        })
    }

    #[test]
    fn a_superseded_token_is_reuse_whenever_it_comes() {
        let now = Utc::now();
        for lost_race in [false, true] {
            assert_eq!(
                decide(&TokenRecord::Superseded, now, GRACE, lost_race),
                Step::Done(Outcome::Reuse)
            );
        }
    }

    #[test]
    fn within_the_grace_another_child_up_to_the_cap() {
        let now = Utc::now();
        let record = rotated(10, Some(1), now);
        assert_eq!(
            decide(&record, now, GRACE, false),
            Step::Sibling {
                rotated_at: now - Duration::seconds(10)
            }
        );
        // A clock ahead of ours is "just now"; a lost race within the grace still gets a pair.
        assert!(matches!(
            decide(&rotated(-2, Some(1), now), now, GRACE, true),
            Step::Sibling { .. }
        ));
        assert_eq!(
            decide(&rotated(10, Some(MAX_CHILDREN), now), now, GRACE, false),
            Step::Done(Outcome::Refused)
        );
    }

    #[test]
    fn past_the_grace_the_children_are_superseded_unless_a_race_was_lost() {
        let now = Utc::now();
        let record = rotated(31, Some(2), now);
        let TokenRecord::Rotated(inner) = &record else {
            unreachable!()
        };
        assert_eq!(
            decide(&record, now, GRACE, false),
            Step::Supersede(inner.clone())
        );
        assert_eq!(
            decide(&record, now, GRACE, true),
            Step::Done(Outcome::Refused)
        );
        // A zero grace holds nothing, however recent.
        assert_eq!(
            decide(
                &rotated(0, Some(1), now),
                now,
                std::time::Duration::ZERO,
                false
            ),
            Step::Supersede(match rotated(0, Some(1), now) {
                TokenRecord::Rotated(r) => r,
                TokenRecord::Superseded => unreachable!(),
            })
        );
    }

    #[test]
    fn records_without_children_keep_the_old_rule() {
        let now = Utc::now();
        assert_eq!(
            decide(&rotated(10, None, now), now, GRACE, false),
            Step::Done(Outcome::Granted)
        );
        assert_eq!(
            decide(&rotated(31, None, now), now, GRACE, false),
            Step::Done(Outcome::Reuse)
        );
    }
}
