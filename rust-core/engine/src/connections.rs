//! One HTTP client, and so one pool of connections, per store setting in the process: the tasks
//! of a worker that write to one store reuse each other's idle connections instead of each
//! opening and keeping its own. The pooled connections run on the shared runtime and end with
//! it, so the clients are forgotten when it stops (`runtime::release`).

use object_store::client::{HttpClient, HttpConnector, ReqwestConnector};
use object_store::ClientOptions;
use once_cell::sync::Lazy;
use rustls::pki_types::CertificateDer;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// Hands out the process's client for the options it is asked for, building it the first time.
pub struct SharedConnector {
    trusted: Vec<CertificateDer<'static>>,
    clients: &'static HttpClients,
}

/// What sets two clients apart.
#[derive(PartialEq, Eq, Hash)]
struct ClientKey {
    /// `ClientOptions` prints every setting but the contents of its CA certificates: these.
    trusted: Vec<CertificateDer<'static>>,
    /// The options as printed: timeouts, proxy, plain HTTP allowed or not. The proxy URL holds no
    /// password (config/store.rs refuses one), and credentials are no client option.
    options: String,
}

#[derive(Default)]
struct HttpClients(Mutex<HashMap<ClientKey, HttpClient>>);

static PROCESS_CLIENTS: Lazy<HttpClients> = Lazy::new(HttpClients::default);

impl SharedConnector {
    pub fn trusting<'a>(trusted: impl IntoIterator<Item = &'a CertificateDer<'static>>) -> SharedConnector {
        SharedConnector { trusted: trusted.into_iter().cloned().collect(), clients: &PROCESS_CLIENTS }
    }
}

/// By hand: `AmazonS3Builder` prints its connector, and the whole JVM truststore is no help there.
impl std::fmt::Debug for SharedConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedConnector").field("trusted_certificates", &self.trusted.len()).finish()
    }
}

impl HttpConnector for SharedConnector {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        let key = ClientKey { trusted: self.trusted.clone(), options: format!("{options:?}") };
        self.clients.get_or_connect(key, || ReqwestConnector::default().connect(options))
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

    fn clear(&self) {
        self.lock().clear();
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
    PROCESS_CLIENTS.clear();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn connector(clients: &'static HttpClients, trusted: &[CertificateDer<'static>]) -> SharedConnector {
        SharedConnector { trusted: trusted.to_vec(), clients }
    }

    #[test]
    fn one_client_per_options_and_trusted_certificates_until_forgotten() {
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
        clients.clear();
        assert_eq!(clients.len(), 0);
    }

    #[test]
    fn printing_the_connector_leaves_the_certificates_out() {
        let ca = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x01]);
        assert_eq!(format!("{:?}", SharedConnector::trusting([&ca])), "SharedConnector { trusted_certificates: 1 }");
    }
}
