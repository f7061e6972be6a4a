//! DRF's page-number pagination at the HTTP edge: every list handler reads a [`PageRequest`]
//! and loads its page with [`PageRequest::load`] (docs/api-decisions.md, "Pagination").

use std::future::Future;

use axum::extract::FromRequestParts;
use http::request::Parts;
use meetin_core::pagination::{Page, PageNumber, RequestUrl};

use crate::{ApiError, ApiResult, PageUrl};

/// The page a list request asks for (`?page=`), and the URL its `next`/`previous` links are
/// built on. A page parameter that is not a page is `404 {"detail": "Invalid page."}`.
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub number: PageNumber,
    pub url: RequestUrl,
}

impl<S: Send + Sync> FromRequestParts<S> for PageRequest {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let PageUrl(url) = match PageUrl::from_request_parts(parts, state).await {
            Ok(url) => url,
            Err(never) => match never {},
        };
        let number = PageNumber::from_query(parts.uri.query())?;
        Ok(Self { number, url })
    }
}

impl PageRequest {
    /// Counts, places the page within the count, then fetches its rows: `count` and
    /// `rows(limit, offset)` are the data crate's two queries for the list.
    pub async fn load<T, RowsFut>(
        self,
        count: impl Future<Output = Result<i64, sqlx::Error>>,
        rows: impl FnOnce(i64, i64) -> RowsFut,
    ) -> ApiResult<Page<T>>
    where
        RowsFut: Future<Output = Result<Vec<T>, sqlx::Error>>,
    {
        let count = count.await?;
        let window = self.number.resolve(count)?;
        let rows = rows(window.limit, window.offset).await?;
        Ok(Page::new(window, count, rows, &self.url))
    }
}
