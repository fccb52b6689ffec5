//! A browser without a screen: one cookie jar, GETs and form posts, redirects not followed
//! (the caller reads `Location`), and the few checks on a page that a journey needs.

use std::collections::HashMap;

use anyhow::Context as _;

/// The HTTP client every browser of a run shares: no redirects followed, up to
/// `connections` idle connections kept, one per browser in flight, and each request
/// given up after `timeout` (two seconds of it to connect).
pub fn client(connections: usize, timeout: std::time::Duration) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(connections)
        .connect_timeout(timeout.min(std::time::Duration::from_secs(2)))
        .timeout(timeout)
        .build()?)
}

/// One browser: a cookie jar over the shared client. Start a new one per person, so no
/// cookie of one sign-in reaches the next.
pub struct Browser<'a> {
    http: &'a reqwest::Client,
    cookies: HashMap<String, String>,
}

/// What came back.
pub struct Page {
    /// The HTTP status.
    pub status: u16,
    /// The `Location` header, on a redirect.
    pub location: Option<String>,
    /// The body, as text.
    pub body: String,
}

impl Page {
    /// This page, when it is the form posting to `action`.
    pub fn expect_form(self, action: &str) -> anyhow::Result<Self> {
        if self.status == 200 && self.body.contains(&format!("action=\"{action}\"")) {
            Ok(self)
        } else {
            anyhow::bail!(
                "expected the form of {action}, got {} {}",
                self.status,
                self.snippet()
            )
        }
    }

    /// A hidden field's value.
    pub fn field(&self, name: &str) -> anyhow::Result<String> {
        let marker = format!("name=\"{name}\" value=\"");
        let value = self
            .body
            .split_once(&marker)
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(value, _)| value.replace("&#x2f;", "/").replace("&amp;", "&"));
        value.with_context(|| format!("no field {name} on the page"))
    }

    /// The start of the body, for error messages.
    pub fn snippet(&self) -> String {
        self.body.chars().take(400).collect()
    }
}

impl<'a> Browser<'a> {
    /// A browser with an empty cookie jar.
    pub fn new(http: &'a reqwest::Client) -> Self {
        Self {
            http,
            cookies: HashMap::new(),
        }
    }

    /// Opens `url`.
    pub async fn get(&mut self, url: &str) -> anyhow::Result<Page> {
        let request = self.http.get(url);
        self.send(request).await
    }

    /// Posts the journey form on `page` to `action` (a path on `issuer`), with the page's
    /// `tx` and `csrf` fields and `fields`.
    pub async fn submit(
        &mut self,
        issuer: &str,
        page: &Page,
        action: &str,
        fields: &[(&str, &str)],
    ) -> anyhow::Result<Page> {
        let (tx, csrf) = (page.field("tx")?, page.field("csrf")?);
        let mut form = vec![("tx", tx.as_str()), ("csrf", csrf.as_str())];
        form.extend_from_slice(fields);
        self.post_form(&format!("{issuer}{action}"), &form).await
    }

    /// Posts `fields` as a form to `url`.
    pub async fn post_form(&mut self, url: &str, fields: &[(&str, &str)]) -> anyhow::Result<Page> {
        let request = self.http.post(url).form(fields);
        self.send(request).await
    }

    /// Sends `request` with the jar's cookies and keeps the cookies it sets.
    async fn send(&mut self, request: reqwest::RequestBuilder) -> anyhow::Result<Page> {
        let cookie = self
            .cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        let response = request
            .header(reqwest::header::COOKIE, cookie)
            .send()
            .await?;
        for value in response.headers().get_all(reqwest::header::SET_COOKIE) {
            let text = value.to_str()?;
            let pair = text.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        Ok(Page {
            status,
            location,
            body: response.text().await?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(status: u16, body: &str) -> Page {
        Page {
            status,
            location: None,
            body: body.to_owned(),
        }
    }

    #[test]
    fn hidden_fields_are_read_and_unescaped() {
        let page = page(
            200,
            r#"<input type="hidden" name="tx" value="a&#x2f;b&amp;c"><input name="csrf" value="x">"#,
        );
        assert_eq!(page.field("tx").unwrap(), "a/b&c");
        assert_eq!(page.field("csrf").unwrap(), "x");
        assert!(page.field("code").is_err());
    }

    #[test]
    fn a_form_is_expected_by_its_action_and_status() {
        let form = r#"<form method="post" action="/login/mfa">"#;
        assert!(page(200, form).expect_form("/login/mfa").is_ok());
        assert!(page(200, form).expect_form("/login").is_err());
        assert!(page(429, form).expect_form("/login/mfa").is_err());
    }
}
