//! Access and refresh tokens as simplejwt made them: HS256 with `token_type`, `exp`, `iat`,
//! `jti` (32 hex characters) and `user_id`. Refresh tokens also name their `family`: the jti
//! of the login's first refresh token, so reuse of a rotated token can revoke the whole chain.

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::refusal::TokenProblem;

pub const ACCESS_TOKEN_LIFETIME: Duration = Duration::minutes(60);
pub const REFRESH_TOKEN_LIFETIME: Duration = Duration::days(7);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenType {
    Access,
    Refresh,
}

impl TokenType {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Refresh => "refresh",
        }
    }

    fn from_claim(value: &str) -> Option<Self> {
        [Self::Access, Self::Refresh]
            .into_iter()
            .find(|t| t.as_str() == value)
    }

    const fn lifetime(self) -> Duration {
        match self {
            Self::Access => ACCESS_TOKEN_LIFETIME,
            Self::Refresh => REFRESH_TOKEN_LIFETIME,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub token_type: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub user_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
}

impl Claims {
    pub fn expires_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.exp, 0).unwrap_or_else(Utc::now)
    }

    /// A refresh token's family; a token minted before families existed is its own.
    pub fn family(&self) -> &str {
        self.family.as_deref().unwrap_or(&self.jti)
    }
}

/// An issued token with its claims.
#[derive(Debug, Clone)]
pub struct Issued {
    pub token: String,
    pub claims: Claims,
}

#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtKeys { .. }")
    }
}

impl JwtKeys {
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry and type are checked in `verify`, against the caller's clock and with
        // simplejwt's messages.
        validation.validate_exp = false;
        validation.leeway = 0;
        validation.required_spec_claims.clear();
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    pub fn issue(
        &self,
        token_type: TokenType,
        user_id: Uuid,
        family: Option<String>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Issued> {
        let jti = Uuid::new_v4().simple().to_string();
        let family = match token_type {
            TokenType::Access => None,
            TokenType::Refresh => Some(family.unwrap_or_else(|| jti.clone())),
        };
        let claims = Claims {
            token_type: token_type.as_str().to_owned(),
            exp: (now + token_type.lifetime()).timestamp(),
            iat: now.timestamp(),
            jti,
            user_id,
            family,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok(Issued { token, claims })
    }

    /// Checks signature, expiry and type, in simplejwt's order. A correctly signed token is
    /// still `Invalid` when its header names `crit` extensions (RFC 7515 §4.1.11: none is
    /// understood here) or when it claims to live longer (`exp - iat`) than its type's
    /// lifetime: such a token was not minted by [`JwtKeys::issue`].
    pub fn verify(
        &self,
        token: &str,
        expected: TokenType,
        now: DateTime<Utc>,
    ) -> Result<Claims, TokenProblem> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| TokenProblem::Invalid)?;
        if data.header.crit.is_some() {
            return Err(TokenProblem::Invalid);
        }
        let claims = data.claims;
        let too_long = TokenType::from_claim(&claims.token_type)
            .is_some_and(|t| claims.exp.saturating_sub(claims.iat) > t.lifetime().num_seconds());
        if too_long {
            return Err(TokenProblem::Invalid);
        }
        if claims.exp <= now.timestamp() {
            return Err(TokenProblem::Expired);
        }
        if claims.token_type != expected.as_str() {
            return Err(TokenProblem::WrongType);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> JwtKeys {
        JwtKeys::new(b"0123456789abcdef0123456789abcdef")
    }

    #[test]
    fn issued_tokens_carry_the_contract_claims() {
        let now = Utc::now();
        let user = Uuid::new_v4();
        let access = keys()
            .issue(TokenType::Access, user, None, now)
            .expect("issue");
        assert_eq!(access.claims.jti.len(), 32);
        assert!(access.claims.jti.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(access.claims.exp - access.claims.iat, 3600);
        assert_eq!(access.claims.family, None);
        let verified = keys()
            .verify(&access.token, TokenType::Access, now)
            .expect("valid");
        assert_eq!(verified.user_id, user);

        let refresh = keys()
            .issue(TokenType::Refresh, user, None, now)
            .expect("issue");
        assert_eq!(refresh.claims.exp - refresh.claims.iat, 7 * 24 * 3600);
        assert_eq!(
            refresh.claims.family.as_deref(),
            Some(refresh.claims.jti.as_str())
        );
        let child = keys()
            .issue(
                TokenType::Refresh,
                user,
                Some(refresh.claims.family().to_owned()),
                now,
            )
            .expect("issue");
        assert_eq!(child.claims.family(), refresh.claims.jti);
    }

    #[test]
    fn refuses_expired_wrong_type_and_foreign_tokens() {
        let now = Utc::now();
        let user = Uuid::new_v4();
        let access = keys()
            .issue(TokenType::Access, user, None, now)
            .expect("issue");
        assert_eq!(
            keys().verify(
                &access.token,
                TokenType::Access,
                now + Duration::minutes(61)
            ),
            Err(TokenProblem::Expired)
        );
        assert_eq!(
            keys().verify(&access.token, TokenType::Refresh, now),
            Err(TokenProblem::WrongType)
        );
        let foreign = JwtKeys::new(b"another-key-another-key-another-k");
        assert_eq!(
            foreign.verify(&access.token, TokenType::Access, now),
            Err(TokenProblem::Invalid)
        );
        assert_eq!(
            keys().verify("not.a.jwt", TokenType::Access, now),
            Err(TokenProblem::Invalid)
        );
    }

    #[test]
    fn refuses_signed_tokens_with_crit_or_a_stretched_lifetime() {
        let now = Utc::now();
        let key = EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef");
        let issued = keys()
            .issue(TokenType::Access, Uuid::new_v4(), None, now)
            .expect("issue");
        let sign = |header: &Header, claims: &Claims| {
            jsonwebtoken::encode(header, claims, &key).expect("sign")
        };
        let plain = Header::new(Algorithm::HS256);
        // Re-signing the issued claims verifies: the checks below are what refuses.
        assert!(
            keys()
                .verify(&sign(&plain, &issued.claims), TokenType::Access, now)
                .is_ok()
        );
        let mut crit = plain.clone();
        crit.crit = Some(vec!["exp".into()]);
        assert_eq!(
            keys().verify(&sign(&crit, &issued.claims), TokenType::Access, now),
            Err(TokenProblem::Invalid)
        );
        let mut stretched = issued.claims.clone();
        stretched.exp += 1;
        assert_eq!(
            keys().verify(&sign(&plain, &stretched), TokenType::Access, now),
            Err(TokenProblem::Invalid)
        );
        // A refresh token's lifetime is its own type's, even when presented as access.
        let refresh = keys()
            .issue(TokenType::Refresh, Uuid::new_v4(), None, now)
            .expect("issue");
        assert_eq!(
            keys().verify(&refresh.token, TokenType::Access, now),
            Err(TokenProblem::WrongType)
        );
    }
}
