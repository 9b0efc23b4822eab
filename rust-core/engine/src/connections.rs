//! One HTTP client, and so one pool of connections, per store setting in the process: the tasks
//! of a worker that write to one store reuse each other's idle connections instead of each
//! opening and keeping its own (three tasks opened 2.6 times the connections of one for the same
//! requests). The pooled connections run on the shared runtime and end with it, so the clients
//! are forgotten when it stops (`runtime::release`).

use object_store::client::{HttpClient, HttpConnector, ReqwestConnector};
use object_store::ClientOptions;
use once_cell::sync::Lazy;
use rustls::pki_types::CertificateDer;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// Hands out the process's client for the options it is asked for, building it the first time.
#[derive(Debug)]
pub struct SharedConnector {
    /// The CA certificates the options trust: `ClientOptions` prints every setting but these.
    trusted: Vec<CertificateDer<'static>>,
    clients: &'static HttpClients,
}

/// The clients by what sets their connections apart.
#[derive(Debug, Default)]
pub struct HttpClients(Mutex<HashMap<ClientKey, HttpClient>>);

/// The trusted CAs and the options as printed (timeouts, proxy, plain HTTP allowed or not). Only
/// a map key: it is never logged, and so may hold a proxy's password.
type ClientKey = (Vec<CertificateDer<'static>>, String);

static PROCESS_CLIENTS: Lazy<HttpClients> = Lazy::new(HttpClients::default);

impl SharedConnector {
    pub fn trusting<'a>(trusted: impl IntoIterator<Item = &'a CertificateDer<'static>>) -> SharedConnector {
        SharedConnector { trusted: trusted.into_iter().cloned().collect(), clients: &PROCESS_CLIENTS }
    }
}

impl HttpConnector for SharedConnector {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        self.clients.get_or_connect((self.trusted.clone(), format!("{options:?}")), || {
            ReqwestConnector::default().connect(options)
        })
    }
}

impl HttpClients {
    fn get_or_connect(
        &self,
        key: ClientKey,
        connect: impl FnOnce() -> object_store::Result<HttpClient>,
    ) -> object_store::Result<HttpClient> {
        let mut clients = self.lock();
        if let Some(client) = clients.get(&key) {
            return Ok(client.clone());
        }
        let client = connect()?;
        clients.insert(key, client.clone());
        Ok(client)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<ClientKey, HttpClient>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Drops every client: their connections ended with the runtime they ran on.
pub fn forget_all() {
    PROCESS_CLIENTS.lock().clear();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn connector(clients: &'static HttpClients, trusted: &[CertificateDer<'static>]) -> SharedConnector {
        SharedConnector { trusted: trusted.to_vec(), clients }
    }

    #[test]
    fn one_client_per_options_and_trusted_certificates() {
        let clients: &'static HttpClients = Box::leak(Box::default());
        let options = ClientOptions::new().with_allow_http(true);
        let ca = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x01]);
        connector(clients, &[]).connect(&options).unwrap();
        connector(clients, &[]).connect(&options).unwrap();
        assert_eq!(clients.len(), 1, "the same settings share one client");
        connector(clients, &[]).connect(&options.clone().with_connect_timeout(Duration::from_secs(1))).unwrap();
        assert_eq!(clients.len(), 2, "other timeouts, another client");
        connector(clients, std::slice::from_ref(&ca)).connect(&options).unwrap();
        assert_eq!(clients.len(), 3, "other trusted CAs, another client");
    }
}
