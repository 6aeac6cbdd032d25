//! The login page: plain HTML, no JavaScript, no external resources.
//!
//! Contract (DESIGN.md): one POST of `username=<user id>` to the form's action logs that test
//! identity in; no other field is required.

use std::fmt::Write as _;

use eudi_pid::IdentityType;
use eudi_pid::TestIdentity;

/// Escapes text for HTML element content and double-quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The login form for one pending request.
pub(crate) fn login_page(
    action: &str,
    identities: &[TestIdentity],
    message: Option<&str>,
    prefill: Option<&str>,
) -> String {
    let action = escape(action);
    let mut html = String::with_capacity(4096);
    html.push_str(concat!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
        "<title>MitID test login</title>\n</head>\n<body>\n",
        "<main>\n<h1>MitID test identity provider</h1>\n",
        "<p>This is a test provider for development and tests, not MitID. ",
        "Log in as one of the test identities below.</p>\n",
    ));
    if let Some(message) = message {
        let _ = writeln!(
            html,
            "<p role=\"alert\" id=\"error\"><strong>{}</strong></p>",
            escape(message)
        );
    }
    let _ = write!(
        html,
        concat!(
            "<form method=\"post\" action=\"{action}\">\n",
            "<label for=\"username\">User ID</label>\n",
            "<input id=\"username\" name=\"username\" type=\"text\" autocomplete=\"username\" ",
            "autofocus required value=\"{prefill}\">\n",
            "<button type=\"submit\">Log in</button>\n</form>\n",
        ),
        action = action,
        prefill = escape(prefill.unwrap_or_default()),
    );
    if !identities.is_empty() {
        html.push_str(concat!(
            "<h2>Test identities</h2>\n",
            "<table>\n<thead><tr><th>User ID</th><th>Name</th><th>Level</th><th>Type</th>",
            "<th>CPR</th><th>Case</th><th></th></tr></thead>\n<tbody>\n",
        ));
        for identity in identities {
            let kind = match identity.identity_type {
                IdentityType::Private => "private",
                IdentityType::Professional => "MitID Erhverv",
            };
            let cpr = if identity.cpr.is_some() {
                "yes"
            } else if identity.pcode.is_some() {
                "no (P code)"
            } else {
                "no"
            };
            let _ = writeln!(
                html,
                concat!(
                    "<tr><td><code>{user}</code></td><td>{name}</td><td>{level}</td>",
                    "<td>{kind}</td><td>{cpr}</td><td>{description}</td>",
                    "<td><form method=\"post\" action=\"{action}\">",
                    "<button type=\"submit\" name=\"username\" value=\"{user}\">Log in as {user}</button>",
                    "</form></td></tr>"
                ),
                user = escape(&identity.username),
                name = escape(&identity.name),
                level = identity.level(),
                kind = kind,
                cpr = cpr,
                description = escape(&identity.description),
                action = action,
            );
        }
        html.push_str("</tbody>\n</table>\n");
    }
    html.push_str("</main>\n</body>\n</html>\n");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn page_has_the_contract_form_and_no_script() {
        let identities = eudi_pid::default_test_identities();
        let page = login_page(
            "https://idp.example/login?request=a&b",
            &identities,
            Some("<unknown>"),
            Some("\"x"),
        );
        assert!(page.contains(
            "<form method=\"post\" action=\"https://idp.example/login?request=a&amp;b\">"
        ));
        assert!(page.contains("name=\"username\""));
        assert!(page.contains("&lt;unknown&gt;"));
        assert!(page.contains("value=\"&quot;x\""));
        assert!(page.contains("value=\"substantial\""));
        assert!(!page.to_lowercase().contains("<script"));
    }
}
