//! Paging one collection: limit/offset (or the provider's `Link: rel="next"`) until
//! `X-Total-Count`, surviving data that changes mid-pull.
//!
//! Offset paging over a live collection skips a record when an earlier one is deleted and
//! repeats one when a record is inserted before the cursor. So: records are de-duplicated by
//! sourcedId as they arrive (the later copy wins), every page's `X-Total-Count` is compared
//! with the first's, and when the total moved (or the de-duplicated count does not match it)
//! the whole collection is pulled again, up to `max_rounds` times; after that the last pull
//! is used with a warning, and the next run picks up what moved.

use crate::convert::{Fields, TableBuilder, TableSpec};
use crate::{PullObserver, RestError};
use rosterbridge_model::{Diagnostic, Location};
use rosterbridge_source_http::{snippet, Authorizer, HttpClient, HttpError, Response, Url};

/// What one collection pull produced.
pub(crate) struct Pulled {
    pub table: TableBuilder,
    pub pages: usize,
    pub rounds: u32,
    pub url: String,
    /// The provider's `Date` on the first page (its clock, for the incremental cursor).
    pub server_date: Option<String>,
}

pub(crate) struct Pager<'a> {
    pub client: &'a HttpClient,
    pub auth: &'a dyn Authorizer,
    pub base: &'a Url,
    pub page_size: u32,
    pub max_rounds: u32,
    pub observer: &'a dyn PullObserver,
}

/// `<url>; rel="next"` from an RFC 8288 `Link` header.
pub(crate) fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim();
            p == "rel=\"next\"" || p == "rel=next"
        });
        is_next.then(|| {
            target
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        })
    })
}

impl Pager<'_> {
    pub fn collection_url(&self, path: &str) -> Result<Url, RestError> {
        let base = self.base.as_str().trim_end_matches('/');
        Url::parse(&format!("{base}/{path}")).map_err(|e| RestError::BadUrl {
            url: format!("{base}/{path}"),
            message: e.to_string(),
        })
    }

    fn page_url(&self, path: &str, offset: usize, filter: Option<&str>) -> Result<Url, RestError> {
        let mut url = self.collection_url(path)?;
        // Built by hand: spaces must go out as %20 (not `+`) and quotes, `>` and `:` encoded,
        // so the signature base string and the wire agree on every provider.
        let mut q = format!("limit={}&offset={offset}", self.page_size);
        if let Some(f) = filter {
            q.push_str("&filter=");
            q.push_str(&crate::oauth1::encode(f));
        }
        url.set_query(Some(&q));
        Ok(url)
    }

    /// Pulls a whole collection into `fresh()` tables; `keep` filters records (bulk pulls
    /// leave out `tobedeleted` ones); `diags` receives per-record problems.
    pub fn pull(
        &self,
        spec: &'static TableSpec,
        filter: Option<&str>,
        fresh: &dyn Fn() -> TableBuilder,
        keep: &dyn Fn(&Fields<'_>) -> bool,
        extra: &mut dyn FnMut(&str, &Fields<'_>),
        diags: &mut Vec<Diagnostic>,
    ) -> Result<Pulled, RestError> {
        let collection_url = self.collection_url(spec.path)?.to_string();
        let mut round = 0;
        loop {
            round += 1;
            let mut table = fresh();
            let mut round_diags = Vec::new();
            let mut offset = 0usize;
            let mut pages = 0usize;
            let mut first_total: Option<u64> = None;
            let mut moved = false;
            let mut next: Option<Url> = None;
            let mut server_date = None;
            // Ids a bulk pull leaves out (`tobedeleted`): they still count in the total.
            let mut dropped: rustc_hash::FxHashSet<String> = Default::default();
            loop {
                let url = match next.take() {
                    Some(u) => u,
                    None => self.page_url(spec.path, offset, filter)?,
                };
                let resp = self
                    .client
                    .get(&url, self.auth)
                    .map_err(|source| RestError::Http {
                        collection: spec.path.into(),
                        offset,
                        source,
                    })?;
                pages += 1;
                if pages == 1 {
                    server_date = resp.header("date").map(str::to_string);
                }
                let total = resp
                    .header("x-total-count")
                    .and_then(|t| t.trim().parse::<u64>().ok());
                match (first_total, total) {
                    (None, Some(t)) if pages == 1 => first_total = Some(t),
                    (Some(a), Some(b)) if a != b => moved = true,
                    _ => {}
                }
                let records = page_records(&resp, spec, offset)?;
                let received = records.len();
                if received == 0 {
                    break;
                }
                let mut new = 0usize;
                for (i, r) in records.into_iter().enumerate() {
                    let id = match r.text("sourcedId").trim() {
                        s if !s.is_empty() => s.to_string(),
                        _ => {
                            round_diags.push(
                                Diagnostic::error(
                                    "missing-value",
                                    format!(
                                        "a {} record has no sourcedId; it is left out",
                                        spec.key
                                    ),
                                )
                                .at(
                                    Location::at(collection_url.clone(), (offset + i + 1) as u32)
                                        .with_field("sourcedId"),
                                )
                                .hint("ask the provider to fix the record"),
                            );
                            continue;
                        }
                    };
                    if !table.contains(&id) && !dropped.contains(&id) {
                        new += 1;
                    }
                    if keep(&r) {
                        extra(&id, &r);
                        table.push(&id, &r, &[]);
                    } else {
                        dropped.insert(id);
                    }
                }
                offset += received;
                self.observer.page(spec.path, offset, total.or(first_total));
                // A provider that repeats its last page for ever would loop here.
                if new == 0 {
                    break;
                }
                if let Some(link) = resp.header("link").and_then(next_link) {
                    next = Some(url.join(&link).map_err(|e| RestError::BadUrl {
                        url: link.clone(),
                        message: e.to_string(),
                    })?);
                    continue;
                }
                if resp.header("link").is_some() {
                    break; // Links without `next`: the provider says this was the last page.
                }
                if let Some(t) = total.or(first_total) {
                    if offset as u64 >= t {
                        break;
                    }
                }
                // Without a total, go on until an empty page: the provider may cap `limit`.
            }
            let counted = (table.len() + dropped.len()) as u64;
            let stable = !moved && first_total.is_none_or(|t| t == counted);
            if stable || round >= self.max_rounds {
                if !stable {
                    round_diags.push(
                        Diagnostic::warning(
                            "collection-changed",
                            format!("{} changed while it was being read ({round} tries); this run uses the last read, the next run picks up what moved", spec.path),
                        )
                        .at(Location::file(collection_url.clone())),
                    );
                }
                diags.extend(round_diags);
                return Ok(Pulled {
                    table,
                    pages,
                    rounds: round,
                    url: collection_url,
                    server_date,
                });
            }
        }
    }
}

/// The records of one page, `{"<key>": [...]}`, borrowed from its body.
fn page_records<'b>(
    resp: &'b Response,
    spec: &TableSpec,
    offset: usize,
) -> Result<Vec<Fields<'b>>, RestError> {
    let malformed = |message: String| RestError::Http {
        collection: spec.path.into(),
        offset,
        source: HttpError::Malformed {
            url: resp.url.to_string(),
            what: format!("{} page at offset {offset}", spec.path),
            message,
            snippet: snippet(&resp.body),
        },
    };
    let text = std::str::from_utf8(&resp.body).map_err(|e| malformed(e.to_string()))?;
    let doc: Fields<'b> = serde_json::from_str(text).map_err(|e| malformed(e.to_string()))?;
    match doc.get(spec.key) {
        Some(raw) if raw.get().starts_with('[') => {
            serde_json::from_str::<Vec<Fields<'b>>>(raw.get()).map_err(|e| malformed(e.to_string()))
        }
        _ => Err(RestError::Shape {
            url: resp.url.to_string(),
            offset,
            message: format!(
                "the page has no `{}` array (keys: {})",
                spec.key,
                doc.0
                    .iter()
                    .map(|(k, _)| k.as_ref())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_header_next() {
        assert_eq!(next_link("<https://x/users?offset=100>; rel=\"next\", <https://x/users?offset=900>; rel=\"last\"").as_deref(), Some("https://x/users?offset=100"));
        assert_eq!(
            next_link("<https://x/users?offset=900>; rel=\"last\""),
            None
        );
    }
}
