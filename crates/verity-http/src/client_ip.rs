//! The client's IP address: the TCP peer, or, when the peer is a trusted proxy
//! (`[server] trusted_proxies`), the right-most `X-Forwarded-For` address that is not
//! itself a trusted proxy (docs/sign-in.md). Anyone can send `X-Forwarded-For`; only
//! the entries appended by proxies we trust say anything, and those are the right-most
//! ones. This is nginx's `real_ip_recursive on` and Keycloak's `proxy-trusted-addresses`.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The header proxies append the address they received a request from to.
const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// A `[server] trusted_proxies` entry that is neither an IP address nor a CIDR range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{entry:?} is not an IP address or a CIDR range (write e.g. \"10.0.0.0/8\", \"192.0.2.10\" or \"::1\")"
)]
pub struct InvalidTrustedProxy {
    /// The entry as written.
    pub entry: String,
}

/// The proxies whose `X-Forwarded-For` entries are believed: IP addresses and CIDR ranges.
/// Empty (the default) believes nobody: the client is the TCP peer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    networks: Vec<IpNet>,
}

impl TrustedProxies {
    /// Parses addresses (`"192.0.2.10"`, `"::1"`) and CIDR ranges (`"10.0.0.0/8"`,
    /// `"fd00::/8"`); host bits in a range are ignored (`"10.1.2.3/8"` is `10.0.0.0/8`).
    /// The first entry that is neither is the error.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, InvalidTrustedProxy> {
        let networks = entries
            .iter()
            .map(|entry| {
                let text = entry.as_ref().trim();
                IpNet::from_str(text)
                    .map(|network| network.trunc())
                    .or_else(|_| IpAddr::from_str(text).map(|ip| IpNet::from(ip.to_canonical())))
                    .map_err(|_| InvalidTrustedProxy {
                        entry: entry.as_ref().to_owned(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { networks })
    }

    /// Whether no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.networks.is_empty()
    }

    /// Whether `ip` is a trusted proxy. An IPv4 address mapped into IPv6
    /// (`::ffff:10.0.0.1`, how a dual-stack socket reports IPv4 peers) is matched as the
    /// IPv4 address, and the other way round.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let canonical = ip.to_canonical();
        self.networks
            .iter()
            .any(|network| network.contains(&canonical) || network.contains(&ip))
    }

    /// The client's address for a request from `peer` with `headers`; `None` when the
    /// peer is not known (a request that did not come over a socket, as in tests).
    ///
    /// From an untrusted peer, `X-Forwarded-For` is ignored. From a trusted one, the
    /// entries (of every `X-Forwarded-For` line, in order) are read right to left, each
    /// added by the hop to its right; the first that is not a trusted proxy is the client.
    /// An entry that is not an address (garbage, `unknown`, an empty item) ends the walk
    /// at the last address reached, as nginx does: nothing to its left can be believed.
    /// Entries may carry a port (`192.0.2.7:4711`, `[2001:db8::7]:4711`).
    pub fn client_ip(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = peer?.to_canonical();
        if !self.contains(peer) {
            return Some(peer);
        }
        let mut entries: Vec<Option<IpAddr>> = Vec::new();
        for line in headers.get_all(X_FORWARDED_FOR) {
            match line.to_str() {
                Ok(text) => entries.extend(text.split(',').map(parse_entry)),
                Err(_) => entries.push(None),
            }
        }
        let mut client = peer;
        for entry in entries.into_iter().rev() {
            let Some(ip) = entry else {
                break;
            };
            client = ip;
            if !self.contains(ip) {
                break;
            }
        }
        Some(client)
    }
}

/// One `X-Forwarded-For` entry: an address, optionally with a port.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    IpAddr::from_str(entry)
        .or_else(|_| SocketAddr::from_str(entry).map(|address| address.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn proxies(entries: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(entries).unwrap()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn forwarded(lines: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append(X_FORWARDED_FOR, HeaderValue::from_str(line).unwrap());
        }
        headers
    }

    fn client(trusted: &[&str], peer: &str, lines: &[&str]) -> Option<IpAddr> {
        proxies(trusted).client_ip(Some(ip(peer)), &forwarded(lines))
    }

    #[test]
    fn without_trusted_proxies_the_client_is_the_peer_and_the_header_is_ignored() {
        assert_eq!(
            client(&[], "203.0.113.9", &["198.51.100.1"]),
            Some(ip("203.0.113.9"))
        );
    }

    #[test]
    fn a_spoofed_header_from_an_untrusted_peer_is_ignored() {
        assert_eq!(
            client(&["10.0.0.0/8"], "203.0.113.9", &["10.0.0.1, 198.51.100.1"]),
            Some(ip("203.0.113.9"))
        );
    }

    #[test]
    fn behind_one_trusted_proxy_the_right_most_entry_is_the_client() {
        // The client sent its own (false) header; the proxy appended the real peer.
        assert_eq!(
            client(&["127.0.0.1"], "127.0.0.1", &["1.2.3.4, 198.51.100.7"]),
            Some(ip("198.51.100.7"))
        );
    }

    #[test]
    fn a_chain_through_two_trusted_proxies_skips_both() {
        // Client 198.51.100.7 -> edge proxy 10.1.0.5 -> inner proxy 10.2.0.6 -> Verity.
        let trusted = ["10.0.0.0/8"];
        assert_eq!(
            client(&trusted, "10.2.0.6", &["6.6.6.6, 198.51.100.7, 10.1.0.5"]),
            Some(ip("198.51.100.7"))
        );
        // The same entries over two header lines.
        assert_eq!(
            client(&trusted, "10.2.0.6", &["6.6.6.6, 198.51.100.7", "10.1.0.5"]),
            Some(ip("198.51.100.7"))
        );
        // Two separately listed proxies.
        assert_eq!(
            client(
                &["192.0.2.10", "192.0.2.20"],
                "192.0.2.20",
                &["198.51.100.7, 192.0.2.10"]
            ),
            Some(ip("198.51.100.7"))
        );
    }

    #[test]
    fn cidr_ranges_match_ipv4_and_ipv6() {
        let trusted = proxies(&["10.0.0.0/8", "fd00::/8", "::1"]);
        assert!(trusted.contains(ip("10.255.1.2")));
        assert!(!trusted.contains(ip("11.0.0.1")));
        assert!(trusted.contains(ip("fd12:3456::1")));
        assert!(!trusted.contains(ip("fe80::1")));
        assert!(trusted.contains(ip("::1")));
        assert!(!trusted.contains(ip("::2")));
        // A dual-stack socket reports IPv4 peers as mapped IPv6 addresses.
        assert!(trusted.contains(ip("::ffff:10.0.0.1")));
        assert_eq!(
            client(&["fd00::/8"], "fd00::5", &["2001:db8::7"]),
            Some(ip("2001:db8::7"))
        );
        assert_eq!(
            client(&["10.0.0.0/8"], "::ffff:10.0.0.1", &["::ffff:198.51.100.7"]),
            Some(ip("198.51.100.7"))
        );
    }

    #[test]
    fn garbage_entries_stop_the_walk_at_the_last_address_reached() {
        let trusted = ["10.0.0.0/8"];
        // Garbage right next to the proxy: nothing in the header is believed.
        assert_eq!(
            client(&trusted, "10.0.0.1", &["198.51.100.7, not-an-ip"]),
            Some(ip("10.0.0.1"))
        );
        // Garbage behind a second trusted hop: that hop is the last address reached.
        assert_eq!(
            client(&trusted, "10.0.0.1", &["198.51.100.7, unknown, 10.0.0.2"]),
            Some(ip("10.0.0.2"))
        );
        // Garbage to the left of the client does not matter.
        assert_eq!(
            client(&trusted, "10.0.0.1", &["<script>, 198.51.100.7"]),
            Some(ip("198.51.100.7"))
        );
        for line in ["", ",", "198.51.100.7,", " , "] {
            assert_eq!(
                client(&trusted, "10.0.0.1", &[line]),
                Some(ip("10.0.0.1")),
                "{line:?}"
            );
        }
        let mut not_text = HeaderMap::new();
        not_text.append(X_FORWARDED_FOR, HeaderValue::from_bytes(b"\xff").unwrap());
        assert_eq!(
            proxies(&trusted).client_ip(Some(ip("10.0.0.1")), &not_text),
            Some(ip("10.0.0.1"))
        );
    }

    #[test]
    fn entries_may_carry_ports() {
        let trusted = ["10.0.0.0/8"];
        assert_eq!(
            client(&trusted, "10.0.0.1", &["198.51.100.7:4711"]),
            Some(ip("198.51.100.7"))
        );
        assert_eq!(
            client(&trusted, "10.0.0.1", &["[2001:db8::7]:4711"]),
            Some(ip("2001:db8::7"))
        );
    }

    #[test]
    fn a_trusted_peer_without_a_header_is_the_client() {
        assert_eq!(
            client(&["127.0.0.1"], "127.0.0.1", &[]),
            Some(ip("127.0.0.1"))
        );
        // Only trusted proxies in the header: the left-most is as far as it goes.
        assert_eq!(
            client(&["10.0.0.0/8"], "10.0.0.1", &["10.0.0.3, 10.0.0.2"]),
            Some(ip("10.0.0.3"))
        );
    }

    #[test]
    fn without_a_peer_the_client_is_unknown() {
        assert_eq!(
            proxies(&["127.0.0.1"]).client_ip(None, &forwarded(&["198.51.100.7"])),
            None
        );
    }

    #[test]
    fn entries_that_are_neither_addresses_nor_ranges_are_refused() {
        for entry in [
            "10.0.0.0/33",
            "10.0.0",
            "localhost",
            "",
            "::1/129",
            "10.0.0.0/8/8",
        ] {
            let error = TrustedProxies::parse(&[entry]).unwrap_err();
            assert_eq!(error.entry, entry);
            assert!(
                error
                    .to_string()
                    .contains("not an IP address or a CIDR range")
            );
        }
        let parsed = proxies(&[" 10.1.2.3/8 ", "::1"]);
        assert!(parsed.contains(ip("10.9.9.9")), "host bits are ignored");
        assert!(!parsed.is_empty());
        assert!(proxies(&[]).is_empty());
    }
}
