//! HTTPS for serving a LAN: browsers allow the microphone only on `https://` or `localhost`. With `--tls` alone,
//! Rehearse makes a self-signed certificate once and keeps it in the data directory (each browser accepts it once);
//! `--tls-cert`/`--tls-key` use a real one. Uses rustls with the ring provider (no system OpenSSL, no cmake).

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use anyhow::Context;
use rustls::{
    ServerConfig,
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
};

/// Where the certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// Generate the pair when it does not exist yet.
    pub self_signed: bool,
}

impl TlsFiles {
    pub fn self_signed_in(data_dir: &Path) -> TlsFiles {
        let dir = data_dir.join("tls");
        TlsFiles {
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
            self_signed: true,
        }
    }
}

/// Names the generated certificate is valid for: loopback, this machine's host name, and `extra` (the address
/// Rehearse listens on, when it is a specific one).
fn subject_names(extra: &[String]) -> Vec<String> {
    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    if let Ok(host) = std::fs::read_to_string("/etc/hostname") {
        let host = host.trim();
        if !host.is_empty() {
            names.push(host.to_string());
            names.push(format!("{host}.local"));
        }
    }
    names.extend(extra.iter().cloned());
    names.sort();
    names.dedup();
    names
}

/// Makes a self-signed pair; the key file is readable by its owner only. Written to temporary files and renamed,
/// so an interrupted run never leaves half a pair.
pub fn generate(files: &TlsFiles, extra_names: &[String]) -> anyhow::Result<()> {
    let dir = files
        .cert
        .parent()
        .context("the certificate path has a folder")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let certified = rcgen::generate_simple_self_signed(subject_names(extra_names))
        .context("generating a certificate")?;
    let write = |path: &Path, text: &str, private: bool| -> anyhow::Result<()> {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
        #[cfg(unix)]
        if private {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
        }
        let _ = private;
        std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
    };
    write(&files.key, &certified.signing_key.serialize_pem(), true)?;
    write(&files.cert, &certified.cert.pem(), false)?;
    Ok(())
}

/// The server's TLS configuration, generating a self-signed pair first when asked to and none exists.
pub fn server_config(
    files: &TlsFiles,
    extra_names: &[String],
) -> anyhow::Result<Arc<ServerConfig>> {
    if files.self_signed && !(files.cert.exists() && files.key.exists()) {
        generate(files, extra_names)?;
        tracing::info!("made a self-signed certificate: {}", files.cert.display());
    }
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow::anyhow!("reading the certificate {}: {e}", files.cert.display()))?;
    anyhow::ensure!(
        !certs.is_empty(),
        "{} holds no certificate",
        files.cert.display()
    );
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| anyhow::anyhow!("reading the private key {}: {e}", files.key.display()))?;
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .context("choosing TLS versions")?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .with_context(|| {
                format!(
                    "{} and {} do not make a usable pair",
                    files.cert.display(),
                    files.key.display()
                )
            })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_self_signed_pair_is_made_once_and_loads() {
        let dir = tempfile::tempdir().unwrap();
        let files = TlsFiles::self_signed_in(dir.path());
        server_config(&files, &["10.0.0.7".into()]).unwrap();
        let first = std::fs::read(&files.cert).unwrap();
        server_config(&files, &[]).unwrap();
        assert_eq!(
            std::fs::read(&files.cert).unwrap(),
            first,
            "the pair is reused"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&files.key).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }

    #[test]
    fn a_missing_or_bad_certificate_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let files = TlsFiles {
            cert: dir.path().join("c.pem"),
            key: dir.path().join("k.pem"),
            self_signed: false,
        };
        let err = format!("{:#}", server_config(&files, &[]).unwrap_err());
        assert!(err.contains("c.pem"), "{err}");
        std::fs::write(&files.cert, "not a certificate").unwrap();
        std::fs::write(&files.key, "not a key").unwrap();
        let err = format!("{:#}", server_config(&files, &[]).unwrap_err());
        assert!(err.contains("c.pem"), "{err}");
    }
}
