//! Which URLs and addresses a request may go to (issue 8 §1 "Fetching"; SD-JWT VC §5 and Token
//! Status List §8.3 retrieve over `https`).
//!
//! By default ([`UrlPolicy::public_https`]) a request goes only to `https` URLs whose host is a
//! public address: a literal IP in the URL is checked here, and every address a name resolves
//! to is checked by the client's resolver ([`check_resolved`]), so a public name that points at
//! `127.0.0.1` is refused and DNS rebinding cannot reach a local service. A redirect is checked
//! like the first URL, and never goes from `https` to `http`.
//!
//! [`UrlPolicy::allow_private_network`] is the dev/test switch: loopback, private and other
//! non-public addresses, and plain `http`, are then allowed (the embedded MitID provider and a
//! local issuer run on `http://127.0.0.1`). Never in production: an issuer-chosen URL could then
//! reach local services, and tokens travel in clear.

use std::net::IpAddr;
use std::net::Ipv4Addr;
use std::net::Ipv6Addr;

use url::Host;
use url::Url;

use crate::HttpError;

/// Where requests may go.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UrlPolicy {
    allow_private_network: bool,
}

impl UrlPolicy {
    /// `https` to public addresses only. The default.
    pub const fn public_https() -> Self {
        Self {
            allow_private_network: false,
        }
    }

    /// DANGER (dev/test): also plain `http`, and loopback, private, link-local and other
    /// non-public addresses.
    pub const fn allow_private_network() -> Self {
        Self {
            allow_private_network: true,
        }
    }

    /// Whether the dev/test switch is on.
    pub const fn allows_private_network(&self) -> bool {
        self.allow_private_network
    }

    /// Whether `url` may be requested: an absolute `https` URL (or `http` with the switch),
    /// without user information, whose host, if an IP literal, is public (or the switch is on).
    /// Names are checked again on every address they resolve to ([`check_resolved`]).
    pub fn check_url(&self, url: &str) -> Result<Url, HttpError> {
        let parsed = Url::parse(url).map_err(|_| refused(url, "not a valid absolute URL"))?;
        self.check_parsed(&parsed)?;
        Ok(parsed)
    }

    /// [`Self::check_url`] on a parsed URL.
    pub fn check_parsed(&self, url: &Url) -> Result<(), HttpError> {
        let refuse = |reason| Err(refused(url.as_str(), reason));
        match url.scheme() {
            "https" => {}
            "http" if self.allow_private_network => {}
            "http" => return refuse("plain http is only allowed with the private-network switch"),
            _ => return refuse("only https URLs are requested"),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return refuse("URLs with user information are not used");
        }
        let literal = match url.host() {
            None => return refuse("the URL has no host"),
            Some(Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            // RFC 6761 §6.3: `localhost` names are loopback whatever DNS says.
            Some(Host::Domain(name)) if is_localhost_name(name) && !self.allow_private_network => {
                return refuse("the host is a loopback name");
            }
            Some(Host::Domain(_)) => None,
        };
        match literal {
            Some(ip) if !self.allow_private_network && !is_public(ip) => {
                refuse("the host is not a public address")
            }
            _ => Ok(()),
        }
    }

    /// Whether a redirect from `from` to `to` may be followed: `to` passes [`Self::check_url`],
    /// and an `https` URL never redirects to plain `http` (not even with the switch).
    pub fn check_redirect(&self, from: &Url, to: &Url) -> Result<(), HttpError> {
        if from.scheme() == "https" && to.scheme() != "https" {
            return Err(refused(to.as_str(), "redirect from https to plain http"));
        }
        self.check_parsed(to)
    }
}

fn refused(url: &str, reason: &'static str) -> HttpError {
    HttpError::Refused {
        url: url.to_owned(),
        reason,
    }
}

fn is_localhost_name(name: &str) -> bool {
    let name = name.trim_end_matches('.');
    name.eq_ignore_ascii_case("localhost")
        || name
            .len()
            .checked_sub(".localhost".len())
            .and_then(|start| name.get(start..))
            .is_some_and(|tail| tail.eq_ignore_ascii_case(".localhost"))
}

/// A name resolved to an address that the policy does not allow.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{host} resolves to {address}, which is not a public address")]
pub struct NonPublicAddress {
    /// The name.
    pub host: String,
    /// The first address that is not public.
    pub address: IpAddr,
}

/// Checks every address `host` resolved to: all must be public (with the switch off). One
/// non-public address refuses the name, rather than connecting to the others: a name that mixes
/// them is a rebinding attempt or a misconfiguration.
pub fn check_resolved(
    policy: &UrlPolicy,
    host: &str,
    addresses: &[IpAddr],
) -> Result<(), NonPublicAddress> {
    if policy.allow_private_network {
        return Ok(());
    }
    match addresses.iter().find(|ip| !is_public(**ip)) {
        Some(&address) => Err(NonPublicAddress {
            host: host.to_owned(),
            address,
        }),
        None => Ok(()),
    }
}

/// Whether `ip` is a public unicast address: not unspecified, loopback, private, shared (CGNAT),
/// link-local, documentation, benchmarking, multicast, broadcast or reserved (IANA IPv4 and IPv6
/// Special-Purpose Address Registries, RFC 6890). IPv6 addresses that embed an IPv4 address
/// (IPv4-mapped, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) are judged by that address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0 // "this network" (RFC 791), 0.0.0.0 included
        || a == 10 // private (RFC 1918)
        || (a == 100 && (64..128).contains(&b)) // shared address space (RFC 6598)
        || a == 127 // loopback
        || (a == 169 && b == 254) // link-local (RFC 3927)
        || (a == 172 && (16..32).contains(&b)) // private
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments (RFC 6890)
        || (a == 192 && b == 0 && c == 2) // TEST-NET-1 (RFC 5737)
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast (RFC 7526)
        || (a == 192 && b == 168) // private
        || (a == 198 && (18..20).contains(&b)) // benchmarking (RFC 2544)
        || (a == 198 && b == 51 && c == 100) // TEST-NET-2
        || (a == 203 && b == 0 && c == 113) // TEST-NET-3
        || a >= 224) // multicast (224/4), reserved (240/4) and broadcast
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let embedded_v4 = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    match s {
        // ::/96: unspecified, loopback and the deprecated IPv4-compatible addresses.
        [0, 0, 0, 0, 0, 0, _, _] => false,
        // NAT64 well-known prefix (RFC 6052): the IPv4 address it translates to.
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => is_public_v4(embedded_v4(hi, lo)),
        // NAT64 local-use prefix (RFC 8215).
        [0x64, 0xff9b, 1, ..] => false,
        // Discard-only (RFC 6666).
        [0x100, 0, 0, 0, ..] => false,
        // IETF protocol assignments 2001::/23 (Teredo, benchmarking, ORCHID, ...).
        [0x2001, b, ..] if b < 0x200 => false,
        // Documentation (RFC 3849, RFC 9637).
        [0x2001, 0xdb8, ..] => false,
        [0x3fff, b, ..] if b < 0x1000 => false,
        // 6to4 (RFC 3056): the IPv4 address it tunnels to.
        [0x2002, hi, lo, ..] => is_public_v4(embedded_v4(hi, lo)),
        // Global unicast is 2000::/3; the rest (ULA fc00::/7, link-local fe80::/10, site-local
        // fec0::/10, multicast ff00::/8, reserved) is not public.
        [a, ..] => a & 0xe000 == 0x2000,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn public_addresses() {
        for public in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.215.14",
            "100.63.255.255",
            "100.128.0.1",
            "172.32.0.1",
            "192.0.1.1",
            "223.255.255.255",
            "2a00:1450:4001:82b::200e",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert!(is_public(ip(public)), "{public} is public");
        }
    }

    #[test]
    fn non_public_addresses() {
        for private in [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "100.64.0.1",
            "127.0.0.1",
            "127.255.255.254",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.51.100.1",
            "203.0.113.1",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::127.0.0.1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::7f00:1",
            "64:ff9b:1::1",
            "100::1",
            "2001::1",
            "2001:2::1",
            "2001:db8::1",
            "3fff::1",
            "2002:7f00:1::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "4000::1",
        ] {
            assert!(!is_public(ip(private)), "{private} is not public");
        }
    }

    #[test]
    fn literal_hosts_are_checked() {
        let strict = UrlPolicy::public_https();
        assert!(strict.check_url("https://issuer.example/status/1").is_ok());
        assert!(strict.check_url("https://8.8.8.8/x").is_ok());
        for refused in [
            "https://127.0.0.1/x",
            "https://127.1/x",
            "https://0x7f000001/x",
            "https://10.0.0.1/x",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/x",
            "https://[::ffff:127.0.0.1]/x",
            "https://[fe80::1]/x",
            "https://0.0.0.0/x",
            "https://localhost/x",
            "https://LOCALHOST./x",
            "https://api.localhost/x",
        ] {
            assert!(
                matches!(strict.check_url(refused), Err(HttpError::Refused { .. })),
                "{refused} must be refused"
            );
        }
        let dev = UrlPolicy::allow_private_network();
        assert!(dev.check_url("https://127.0.0.1/x").is_ok());
        assert!(dev.check_url("https://localhost/x").is_ok());
        assert!(dev.check_url("https://[::1]/x").is_ok());
    }

    #[test]
    fn plain_http_needs_the_switch() {
        let strict = UrlPolicy::public_https();
        assert!(strict.check_url("http://issuer.example/status").is_err());
        // Loopback http is no longer allowed by default.
        assert!(strict.check_url("http://127.0.0.1:8080/status").is_err());
        assert!(strict.check_url("http://localhost/x").is_err());
        let dev = UrlPolicy::allow_private_network();
        assert!(dev.check_url("http://127.0.0.1:8080/status").is_ok());
        assert!(dev.check_url("http://issuer.example/status").is_ok());
    }

    #[test]
    fn other_urls_are_refused() {
        let dev = UrlPolicy::allow_private_network();
        for refused in [
            "file:///etc/passwd",
            "ftp://issuer.example/x",
            "not a url",
            "/relative",
            "https://user:pw@issuer.example/",
            "https://user@issuer.example/",
        ] {
            assert!(dev.check_url(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn redirects() {
        let u = |s: &str| Url::parse(s).unwrap();
        let dev = UrlPolicy::allow_private_network();
        let strict = UrlPolicy::public_https();
        // https to http: refused, even with the switch.
        assert!(
            dev.check_redirect(&u("https://a.example/"), &u("http://a.example/"))
                .is_err()
        );
        assert!(
            dev.check_redirect(&u("http://a.example/"), &u("http://b.example/"))
                .is_ok()
        );
        assert!(
            dev.check_redirect(&u("http://a.example/"), &u("https://b.example/"))
                .is_ok()
        );
        assert!(
            strict
                .check_redirect(&u("https://a.example/"), &u("https://b.example/"))
                .is_ok()
        );
        // A redirect to a private literal is refused like a first request.
        assert!(
            strict
                .check_redirect(&u("https://a.example/"), &u("https://10.1.2.3/"))
                .is_err()
        );
    }

    #[test]
    fn resolved_addresses_are_all_checked() {
        let strict = UrlPolicy::public_https();
        let public = [ip("93.184.215.14"), ip("2606:4700::1111")];
        assert!(check_resolved(&strict, "issuer.example", &public).is_ok());
        // A public name pointing at loopback, or mixing public and private addresses.
        let rebound = [ip("93.184.215.14"), ip("127.0.0.1")];
        assert_eq!(
            check_resolved(&strict, "issuer.example", &rebound),
            Err(NonPublicAddress {
                host: "issuer.example".into(),
                address: ip("127.0.0.1")
            })
        );
        assert!(check_resolved(&strict, "x.example", &[ip("::ffff:192.168.0.1")]).is_err());
        let dev = UrlPolicy::allow_private_network();
        assert!(check_resolved(&dev, "issuer.example", &rebound).is_ok());
    }
}
