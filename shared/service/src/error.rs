//! What the service core fails with: a refusal the caller caused, or an unexpected failure
//! that keeps the line of the `?` that propagated it (front ends log it, never show it).

use std::fmt;
use std::panic::Location;

use meetin_core::Refusal;

pub type ServiceResult<T> = Result<T, ServiceError>;

/// A refusal (`meetin_core::Refusal`: 401, 403, 404, 429…) or an unexpected failure.
#[derive(Debug)]
pub enum ServiceError {
    /// What the caller caused; its status, body and headers are the front end's to render.
    Refused(Refusal),
    /// A database or DynamoDB failure.
    Internal(Internal),
}

/// An unexpected failure and the line that propagated it.
pub struct Internal {
    pub error: anyhow::Error,
    pub location: &'static Location<'static>,
}

impl fmt::Debug for Internal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#} at {}", self.error, self.location)
    }
}

impl ServiceError {
    /// An internal failure (logged with this call site, never shown to a client).
    #[track_caller]
    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        Self::Internal(Internal {
            error: error.into(),
            location: Location::caller(),
        })
    }
}

impl From<Refusal> for ServiceError {
    fn from(refusal: Refusal) -> Self {
        Self::Refused(refusal)
    }
}

impl From<sqlx::Error> for ServiceError {
    #[track_caller]
    fn from(err: sqlx::Error) -> Self {
        Self::Internal(Internal {
            error: anyhow::Error::new(err).context("database"),
            location: Location::caller(),
        })
    }
}

impl From<meetin_aws::StoreError> for ServiceError {
    #[track_caller]
    fn from(err: meetin_aws::StoreError) -> Self {
        Self::Internal(Internal {
            error: anyhow::Error::new(err).context("ephemeral store (DynamoDB)"),
            location: Location::caller(),
        })
    }
}
