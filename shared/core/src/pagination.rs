//! DRF `PageNumberPagination`: 20 a page, `?page=N` (or `last`), absolute `next`/`previous`
//! links, `{"detail": "Invalid page."}` (404) for a page that does not exist.

use serde::Serialize;

use crate::refusal::Refusal;

pub const PAGE_SIZE: i64 = 20;

/// The page a client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageNumber {
    Number(i64),
    Last,
}

fn invalid_page() -> Refusal {
    Refusal::detail(http::StatusCode::NOT_FOUND, "Invalid page.")
}

impl PageNumber {
    /// Reads `page` from a raw query string as DRF's `PageNumberPagination` does: the last
    /// `page` value wins (Django's `QueryDict`); absent or empty means the first page; `last`
    /// the last page; otherwise Python's `int()` of the text (`" 1"`, `"+1"`, `"1_0"` are
    /// numbers; `"1.0"` is not), and below 1 is `Invalid page.`.
    pub fn from_query(query: Option<&str>) -> Result<Self, Refusal> {
        let raw = query.and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .filter(|(k, _)| k == "page")
                .last()
                .map(|(_, v)| v.into_owned())
        });
        match raw.as_deref() {
            None | Some("") => Ok(Self::Number(1)),
            Some("last") => Ok(Self::Last),
            Some(v) => match crate::validation::python_int_literal(v) {
                Some(n) if n >= 1 => Ok(Self::Number(i64::try_from(n).unwrap_or(i64::MAX))),
                _ => Err(invalid_page()),
            },
        }
    }

    /// Places the page within `count` items (an empty list still has page 1).
    pub fn resolve(self, count: i64) -> Result<PageWindow, Refusal> {
        let pages = ((count + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
        let number = match self {
            Self::Number(n) if n <= pages => n,
            Self::Number(_) => return Err(invalid_page()),
            Self::Last => pages,
        };
        Ok(PageWindow {
            number,
            pages,
            offset: (number - 1) * PAGE_SIZE,
            limit: PAGE_SIZE,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageWindow {
    pub number: i64,
    pub pages: i64,
    pub offset: i64,
    pub limit: i64,
}

/// The request's absolute URL: `base` is scheme, host and (on API Gateway) stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestUrl {
    pub base: String,
    pub path: String,
    pub query: Option<String>,
}

impl RequestUrl {
    /// This URL with `page` set (or removed for `None`), other parameters kept and sorted
    /// as DRF does.
    pub fn with_page(&self, page: Option<i64>) -> String {
        let mut pairs: Vec<(String, String)> = self
            .query
            .as_deref()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .filter(|(k, _)| k != "page")
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        if let Some(n) = page {
            pairs.push(("page".into(), n.to_string()));
        }
        pairs.sort();
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        if query.is_empty() {
            format!("{}{}", self.base, self.path)
        } else {
            format!("{}{}?{}", self.base, self.path, query)
        }
    }
}

/// One page of a list: `{"count", "next", "previous", "results"}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub count: i64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<T>,
}

impl<T> Page<T> {
    pub fn new(window: PageWindow, count: i64, results: Vec<T>, url: &RequestUrl) -> Self {
        let next = (window.number < window.pages).then(|| url.with_page(Some(window.number + 1)));
        let previous = match window.number {
            1 => None,
            2 => Some(url.with_page(None)),
            n => Some(url.with_page(Some(n - 1))),
        };
        Self {
            count,
            next,
            previous,
            results,
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            count: self.count,
            next: self.next,
            previous: self.previous,
            results: self.results.into_iter().map(f).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(query: Option<&str>) -> RequestUrl {
        RequestUrl {
            base: "https://api.example.com/prod".into(),
            path: "/api/meetings/".into(),
            query: query.map(str::to_owned),
        }
    }

    #[test]
    fn pages_and_links_follow_drf() {
        let window = PageNumber::from_query(Some("page=2"))
            .and_then(|p| p.resolve(45))
            .expect("page 2");
        assert_eq!(
            window,
            PageWindow {
                number: 2,
                pages: 3,
                offset: 20,
                limit: 20
            }
        );
        let page = Page::new(window, 45, vec![0; 20], &url(Some("status=open&page=2")));
        assert_eq!(
            page.next.as_deref(),
            Some("https://api.example.com/prod/api/meetings/?page=3&status=open")
        );
        assert_eq!(
            page.previous.as_deref(),
            Some("https://api.example.com/prod/api/meetings/?status=open")
        );

        let last = PageNumber::from_query(Some("page=last"))
            .and_then(|p| p.resolve(45))
            .expect("last");
        assert_eq!(last.number, 3);
        let page = Page::new(last, 45, vec![0; 5], &url(Some("page=last")));
        assert_eq!(page.next, None);
        assert_eq!(
            page.previous.as_deref(),
            Some("https://api.example.com/prod/api/meetings/?page=2")
        );
    }

    #[test]
    fn page_numbers_are_read_as_drf_reads_them() {
        let page = |q: &str| PageNumber::from_query(Some(q)).ok();
        for first in [
            "page=",
            "page=1",
            "page=%201",
            "page=+1",
            "page=1%20",
            "x=2",
            "page=01",
        ] {
            assert_eq!(page(first), Some(PageNumber::Number(1)), "{first}");
        }
        assert_eq!(page("page=2&page=1"), Some(PageNumber::Number(1)));
        assert_eq!(page("page=1&page=2"), Some(PageNumber::Number(2)));
        assert_eq!(page("page=1_0"), Some(PageNumber::Number(10)));
        assert_eq!(
            page("page=99999999999999999999999"),
            Some(PageNumber::Number(i64::MAX))
        );
        let huge = PageNumber::Number(i64::MAX)
            .resolve(45)
            .expect_err("out of range");
        assert_eq!(huge.body(), serde_json::json!({"detail": "Invalid page."}));
    }

    #[test]
    fn empty_lists_have_a_first_page_only() {
        let window = PageNumber::from_query(None)
            .and_then(|p| p.resolve(0))
            .expect("page 1");
        let page = Page::<i32>::new(window, 0, vec![], &url(None));
        assert_eq!((page.count, page.next, page.previous), (0, None, None));
        for bad in [
            "page=2",
            "page=0",
            "page=-1",
            "page=abc",
            "page=1.5",
            "page=1.0",
            "page=1__0",
            "page=%EF%BC%91",
            "page=Last",
        ] {
            let err = PageNumber::from_query(Some(bad))
                .and_then(|p| p.resolve(0))
                .expect_err(bad);
            assert_eq!(err.body(), serde_json::json!({"detail": "Invalid page."}));
        }
    }
}
