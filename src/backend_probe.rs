//! Can the state backend be reached? Answered quickly, before tofu spends its own retries on it.
//!
//! A TCP connection to the S3 endpoint or the PostgreSQL server is enough to tell "down" from "misconfigured";
//! the error names which backend and where, and never the credentials in a connection string.

use std::net::ToSocketAddrs;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::stack::Backend;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// A description of the backend that is safe to print, such as `s3 (bucket state at http://127.0.0.1:9000)`.
pub fn describe(backend: &Backend, conn_str: Option<&SecretString>) -> String {
    match backend {
        Backend::Local { .. } => "local".into(),
        Backend::S3 {
            bucket, endpoint, ..
        } => {
            format!(
                "s3 (bucket `{bucket}` at {})",
                endpoint.as_deref().unwrap_or("AWS")
            )
        }
        Backend::Pg { conn_str_env, .. } => match conn_str
            .and_then(|conn| pg_address(conn.expose_secret()))
        {
            Some((host, port)) => format!("pg (PostgreSQL at {host}:{port}, from ${conn_str_env})"),
            None => format!("pg (connection string from ${conn_str_env})"),
        },
    }
}

/// Checks the backend's server accepts connections; `Err` says why not.
pub async fn probe(backend: &Backend, conn_str: Option<&SecretString>) -> Result<(), String> {
    let address = match backend {
        Backend::Local { .. } => return Ok(()),
        Backend::S3 {
            endpoint: Some(endpoint),
            ..
        } => url_address(endpoint),
        Backend::S3 { endpoint: None, .. } => return Ok(()),
        Backend::Pg { .. } => conn_str.and_then(|conn| pg_address(conn.expose_secret())),
    };
    let Some((host, port)) = address else {
        return Ok(());
    };
    let target = format!("{host}:{port}");
    let resolved = tokio::task::spawn_blocking({
        let target = target.clone();
        move || {
            target
                .to_socket_addrs()
                .map(|mut addresses| addresses.next())
        }
    })
    .await
    .map_err(|error| error.to_string())?
    .map_err(|error| format!("cannot resolve {target}: {error}"))?
    .ok_or_else(|| format!("{target} resolves to no address"))?;
    match tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(resolved)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(error)) => Err(format!("cannot connect to {target}: {error}")),
        Err(_) => Err(format!(
            "no answer from {target} within {}s",
            CONNECT_TIMEOUT.as_secs()
        )),
    }
}

/// Host and port of an `http(s)://host[:port]/...` URL.
fn url_address(url: &str) -> Option<(String, u16)> {
    let default_port = if url.starts_with("https://") { 443 } else { 80 };
    authority_address(url, default_port)
}

/// Host and port of `scheme://[user[:password]@]host[:port][/...]`.
fn authority_address(url: &str, default_port: u16) -> Option<(String, u16)> {
    let (_, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?']).next()?.rsplit('@').next()?;
    split_host_port(authority, default_port)
}

/// Host and port of a PostgreSQL connection string, URL or `key=value` form.
fn pg_address(conn: &str) -> Option<(String, u16)> {
    if conn.starts_with("postgres://") || conn.starts_with("postgresql://") {
        return authority_address(conn, 5432);
    }
    let mut host = "localhost".to_string();
    let mut port = 5432;
    for pair in conn.split_whitespace() {
        match pair.split_once('=') {
            Some(("host", value)) => host = value.to_string(),
            Some(("port", value)) => port = value.parse().ok()?,
            _ => {}
        }
    }
    Some((host, port))
}

fn split_host_port(authority: &str, default_port: u16) -> Option<(String, u16)> {
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || authority.starts_with('[') => Some((
            host.trim_matches(['[', ']']).to_string(),
            port.parse().ok()?,
        )),
        _ => Some((authority.trim_matches(['[', ']']).to_string(), default_port)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_addresses_without_leaking_credentials() {
        assert_eq!(
            url_address("http://127.0.0.1:9000"),
            Some(("127.0.0.1".into(), 9000))
        );
        assert_eq!(
            url_address("https://nyc3.digitaloceanspaces.com"),
            Some(("nyc3.digitaloceanspaces.com".into(), 443))
        );
        assert_eq!(
            pg_address("postgres://u:secret@db:6543/x"),
            Some(("db".into(), 6543))
        );
        assert_eq!(
            pg_address("postgres://u:secret@db/x"),
            Some(("db".into(), 5432))
        );
        assert_eq!(
            pg_address("host=127.0.0.1 port=7777 user=x"),
            Some(("127.0.0.1".into(), 7777))
        );
        let secret = SecretString::from("postgres://u:canary-pw@db:6543/x");
        let backend = Backend::Pg {
            conn_str_env: "PG_CONN_STR".into(),
            schema: "s".into(),
        };
        assert!(!describe(&backend, Some(&secret)).contains("canary-pw"));
    }
}
