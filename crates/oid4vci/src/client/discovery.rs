//! Finding an issuer: its Credential Issuer Metadata (OpenID4VCI 1.0 §12.2.2, §12.2.3) and its
//! authorization server's metadata (RFC 8414 §3), each checked to name the identifier it was
//! fetched for, compared as strings with no normalization (§12.2.4 `credential_issuer`,
//! RFC 8414 §3.3).

use url::Url;

use crate::client::ClientError;
use crate::client::transport::Transport;
use crate::metadata::AuthorizationServerMetadata;
use crate::metadata::CredentialIssuerMetadata;

/// The well-known path segment of Credential Issuer Metadata (OpenID4VCI 1.0 §12.2.2).
pub const CREDENTIAL_ISSUER_WELL_KNOWN: &str = "/.well-known/openid-credential-issuer";
/// The well-known path segment of authorization server metadata (RFC 8414 §3).
pub const AUTHORIZATION_SERVER_WELL_KNOWN: &str = "/.well-known/oauth-authorization-server";

/// Checks an identifier (credential issuer, authorization server): an `https` URL (or what the
/// policy allows) with no query or fragment (OpenID4VCI 1.0 §12.2.1, RFC 8414 §2).
pub(crate) fn check_identifier(transport: &Transport, id: &str) -> Result<Url, ClientError> {
    let url = transport.config.check_url(id)?;
    if url.query().is_some() || url.fragment().is_some() || id.contains(['?', '#']) {
        return Err(ClientError::InvalidUrl {
            url: id.to_owned(),
            reason: "an issuer identifier has no query or fragment".into(),
        });
    }
    Ok(url)
}

/// The URL of a well-known document for `id`: `well_known` inserted between the host (and
/// port) and the path, a path of `/` counting as none (OpenID4VCI 1.0 §12.2.2, RFC 8414 §3.1).
pub fn well_known_url(id: &str, well_known: &str) -> Result<String, ClientError> {
    let url = Url::parse(id).map_err(|_| ClientError::InvalidUrl {
        url: id.to_owned(),
        reason: "not an absolute URL".into(),
    })?;
    let path = url.path().trim_end_matches('/');
    let mut target = url.clone();
    target.set_path(&format!("{well_known}{path}"));
    Ok(target.to_string())
}

/// Fetches and checks the Credential Issuer Metadata of `issuer`.
pub(crate) async fn issuer_metadata(
    transport: &Transport,
    issuer: &str,
) -> Result<CredentialIssuerMetadata, ClientError> {
    check_identifier(transport, issuer)?;
    let url = well_known_url(issuer, CREDENTIAL_ISSUER_WELL_KNOWN)?;
    let metadata: CredentialIssuerMetadata = transport
        .get_json(
            &url,
            "credential issuer metadata",
            transport.config.max_metadata_bytes,
        )
        .await?;
    if metadata.credential_issuer != issuer {
        return Err(ClientError::MetadataMismatch {
            document: "credential issuer metadata",
            expected: issuer.to_owned(),
            found: metadata.credential_issuer,
        });
    }
    for endpoint in [Some(&metadata.credential_endpoint)]
        .into_iter()
        .chain([
            metadata.nonce_endpoint.as_ref(),
            metadata.deferred_credential_endpoint.as_ref(),
            metadata.notification_endpoint.as_ref(),
        ])
        .flatten()
    {
        transport.config.check_url(endpoint)?;
    }
    Ok(metadata)
}

/// Fetches and checks the metadata of authorization server `id`.
pub(crate) async fn authorization_server_metadata(
    transport: &Transport,
    id: &str,
) -> Result<AuthorizationServerMetadata, ClientError> {
    check_identifier(transport, id)?;
    let url = well_known_url(id, AUTHORIZATION_SERVER_WELL_KNOWN)?;
    let metadata: AuthorizationServerMetadata = transport
        .get_json(
            &url,
            "authorization server metadata",
            transport.config.max_metadata_bytes,
        )
        .await?;
    if metadata.issuer != id {
        return Err(ClientError::MetadataMismatch {
            document: "authorization server metadata",
            expected: id.to_owned(),
            found: metadata.issuer,
        });
    }
    for endpoint in [Some(&metadata.token_endpoint)]
        .into_iter()
        .chain([
            metadata.authorization_endpoint.as_ref(),
            metadata.pushed_authorization_request_endpoint.as_ref(),
        ])
        .flatten()
    {
        transport.config.check_url(endpoint)?;
    }
    Ok(metadata)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_urls_go_between_host_and_path() {
        assert_eq!(
            well_known_url(
                "https://issuer.example.com/tenant",
                CREDENTIAL_ISSUER_WELL_KNOWN
            )
            .unwrap(),
            "https://issuer.example.com/.well-known/openid-credential-issuer/tenant"
        );
        assert_eq!(
            well_known_url(
                "https://tenant.issuer.example.com",
                CREDENTIAL_ISSUER_WELL_KNOWN
            )
            .unwrap(),
            "https://tenant.issuer.example.com/.well-known/openid-credential-issuer"
        );
        assert_eq!(
            well_known_url("http://127.0.0.1:8080/", AUTHORIZATION_SERVER_WELL_KNOWN).unwrap(),
            "http://127.0.0.1:8080/.well-known/oauth-authorization-server"
        );
        assert!(well_known_url("not a url", CREDENTIAL_ISSUER_WELL_KNOWN).is_err());
    }
}
