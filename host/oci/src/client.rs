//! Talking to registries, through oci-client: HTTPS with the system's roots
//! (and a private CA if given), plain HTTP only for registries named
//! insecure, credentials from `--creds` or the docker/podman auth file.
//! Every blob fetched is checked against its descriptor's size and digest
//! before anyone sees it.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use futures_util::StreamExt as _;
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::manifest::{OciDescriptor, OCI_IMAGE_MEDIA_TYPE};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

use crate::artifact::{check_blob, check_digest_form, digest, Artifact, Manifest, MAX_METADATA};
use crate::auth;
use crate::gadget::{self, Gadget, GadgetManifest};
use crate::signature::{self, Signatures};
use crate::Image;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// How to reach registries.
#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    /// `HOST:PORT` of registries spoken to over plain HTTP.
    pub insecure: Vec<String>,
    /// PEM files of CAs to trust besides the system's.
    pub ca_files: Vec<PathBuf>,
    /// `USER:PASS`, overriding the auth file.
    pub creds: Option<String>,
}

/// `error`, with a hint when its cause is a common mistake.
fn explained(error: anyhow::Error, reference: &Reference) -> anyhow::Error {
    let chain = format!("{error:#}");
    let registry = reference.registry();
    if chain.contains("InvalidContentType") || chain.contains("http request to https") {
        error.context(format!(
            "{registry} does not speak HTTPS: if it is a plain-HTTP registry you trust, \
             add --insecure-registry {registry}"
        ))
    } else if chain.contains("UnknownIssuer") || chain.contains("invalid peer certificate") {
        error.context(format!(
            "{registry}'s certificate is not signed by a CA this host trusts: \
             give its CA with --registry-ca FILE"
        ))
    } else {
        error
    }
}

/// The reference of the signatures of manifest `digest` in `reference`'s
/// repository.
pub fn signature_reference(reference: &Reference, digest: &str) -> Result<Reference> {
    Ok(Reference::with_tag(
        reference.registry().into(),
        reference.repository().into(),
        signature::tag(digest)?,
    ))
}

/// A client for every registry an invocation talks to.
pub struct Registry {
    client: Client,
    /// Manifests are fetched with this client, configured as oci-client's
    /// own, so that their bodies are read with a cap as they stream
    /// (oci-client reads a manifest whole before anyone can look at it).
    http: reqwest::Client,
    insecure: Vec<String>,
    creds: Option<String>,
    runtime: tokio::runtime::Runtime,
}

/// Most payload layers read from one signature manifest: cosign appends
/// one per signature made, so an app signed by a few keys has a few.
pub const MAX_SIGNATURE_LAYERS: usize = 16;

/// The media types a manifest is asked for in: an OCI image manifest (an
/// app, a signature) or an image index.
const MANIFEST_TYPES: &str =
    "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json";

impl Registry {
    pub fn new(options: &RegistryOptions) -> Result<Self> {
        // rustls needs one process-wide crypto provider; a second install
        // (another Registry) finds it there.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut extra_root_certificates = Vec::new();
        let mut http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .user_agent(concat!("wasm-bpf/", env!("CARGO_PKG_VERSION")));
        for file in &options.ca_files {
            let data =
                std::fs::read(file).with_context(|| format!("--registry-ca {}", file.display()))?;
            let certificates = reqwest::Certificate::from_pem_bundle(&data).with_context(|| {
                format!("--registry-ca {}: not PEM certificates", file.display())
            })?;
            http = http.tls_certs_merge(certificates);
            extra_root_certificates.push(Certificate {
                encoding: CertificateEncoding::Pem,
                data,
            });
        }
        let config = ClientConfig {
            protocol: if options.insecure.is_empty() {
                ClientProtocol::Https
            } else {
                ClientProtocol::HttpsExcept(options.insecure.clone())
            },
            extra_root_certificates,
            connect_timeout: Some(CONNECT_TIMEOUT),
            read_timeout: Some(READ_TIMEOUT),
            platform_resolver: None,
            ..ClientConfig::default()
        };
        Ok(Self {
            client: Client::new(config),
            http: http.build().context("making the HTTP client")?,
            insecure: options.insecure.clone(),
            creds: options.creds.clone(),
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?,
        })
    }

    fn auth(&self, reference: &Reference) -> Result<RegistryAuth> {
        if let Some(creds) = &self.creds {
            let (user, pass) = creds.split_once(':').context("--creds takes USER:PASS")?;
            return Ok(RegistryAuth::Basic(user.into(), pass.into()));
        }
        auth::from_auth_file(reference.resolve_registry())
    }

    /// Pushes `artifact` as `reference`: the blobs, then the manifest.
    pub fn push(&self, reference: &Reference, artifact: &Artifact) -> Result<()> {
        self.push_unexplained(reference, artifact)
            .map_err(|e| explained(e, reference))
    }

    fn push_unexplained(&self, reference: &Reference, artifact: &Artifact) -> Result<()> {
        let auth = self.auth(reference)?;
        let client = &self.client;
        self.runtime.block_on(async {
            client
                .store_auth_if_needed(reference.resolve_registry(), &auth)
                .await;
            // Authenticating for push (and pull) up front gives a clear
            // error for bad credentials rather than one per blob.
            client
                .auth(reference, &auth, oci_client::RegistryOperation::Push)
                .await
                .with_context(|| format!("authenticating to {}", reference.registry()))?;
            for blob in [&artifact.config, &artifact.wasm] {
                client
                    .push_blob(reference, blob.clone(), &digest(blob))
                    .await
                    .with_context(|| format!("pushing blob {}", digest(blob)))?;
            }
            client
                .push_manifest_raw(
                    reference,
                    artifact.manifest.clone(),
                    OCI_IMAGE_MEDIA_TYPE.parse()?,
                )
                .await
                .context("pushing the manifest")?;
            Ok(())
        })
    }

    /// The manifest (or image index) `reference` names, checked against
    /// the reference's digest, if pinned.
    pub fn manifest_bytes(&self, reference: &Reference) -> Result<Vec<u8>> {
        let bytes = self
            .bounded_manifest(reference)
            .map_err(|e| explained(e, reference))
            .and_then(|found| found.context("no such manifest (the tag or digest is unknown)"))
            .with_context(|| format!("fetching the manifest of {}", reference.whole()))?;
        if let Some(pinned) = reference.digest() {
            let actual = digest(&bytes);
            if actual != pinned {
                bail!(
                    "the registry's manifest for {} hashes to {actual}",
                    reference.whole()
                );
            }
        }
        Ok(bytes)
    }

    /// The manifest `reference` names, checked to be a Wasm artifact, and
    /// its digest (checked against the reference's, if pinned).
    pub fn manifest(&self, reference: &Reference) -> Result<(Vec<u8>, Manifest)> {
        let bytes = self.manifest_bytes(reference)?;
        let manifest = Manifest::parse(&bytes)
            .with_context(|| format!("the manifest of {}", reference.whole()))?;
        Ok((bytes, manifest))
    }

    /// The signatures of manifest `digest` in `reference`'s repository
    /// (its `sha256-HEX.sig` tag), every blob checked; `None` when there
    /// are none.
    pub fn signatures(&self, reference: &Reference, digest: &str) -> Result<Option<Signatures>> {
        let tag = signature_reference(reference, digest)?;
        let context = || format!("the signatures {}", tag.whole());
        let Some(bytes) = self
            .bounded_manifest(&tag)
            .map_err(|e| explained(e, reference))
            .with_context(context)?
        else {
            return Ok(None);
        };
        let manifest: oci_client::manifest::OciImageManifest =
            serde_json::from_slice(&bytes).with_context(context)?;
        let layers = signature::layers(&bytes).with_context(context)?;
        anyhow::ensure!(
            layers.len() <= MAX_SIGNATURE_LAYERS,
            "{}: {} signatures; at most {MAX_SIGNATURE_LAYERS} are read",
            context(),
            layers.len()
        );
        let config = self.bounded_blob(&tag, &manifest.config)?;
        let mut payloads = Vec::new();
        for layer in layers {
            let payload = self.bounded_blob(&tag, &layer)?;
            payloads.push((layer, payload));
        }
        Ok(Some(Signatures {
            manifest: bytes,
            config,
            payloads,
        }))
    }

    /// The manifest `reference` names (`None` if the registry has none),
    /// read as it streams and refused once it passes [`MAX_METADATA`]
    /// bytes, with the credentials oci-client uses (its bearer token, or
    /// basic credentials).
    fn bounded_manifest(&self, reference: &Reference) -> Result<Option<Vec<u8>>> {
        let auth = self.auth(reference)?;
        let registry = reference.resolve_registry();
        let scheme = if self.insecure.iter().any(|r| r == registry) {
            "http"
        } else {
            "https"
        };
        let name = reference.digest().or(reference.tag()).unwrap_or("latest");
        let url = format!(
            "{scheme}://{registry}/v2/{}/manifests/{name}",
            reference.repository()
        );
        self.runtime.block_on(async {
            let token = self
                .client
                .auth(reference, &auth, oci_client::RegistryOperation::Pull)
                .await
                .with_context(|| format!("authenticating to {}", reference.registry()))?;
            let request = self
                .http
                .get(&url)
                .header(reqwest::header::ACCEPT, MANIFEST_TYPES);
            let request = match (token, &auth) {
                (Some(token), _) => request.bearer_auth(token),
                (None, RegistryAuth::Basic(user, pass)) => request.basic_auth(user, Some(pass)),
                (None, _) => request,
            };
            let mut response = request.send().await.with_context(|| format!("GET {url}"))?;
            let status = response.status();
            if status == reqwest::StatusCode::NOT_FOUND {
                return Ok(None);
            }
            let too_big = |size: u64| {
                anyhow::anyhow!(
                    "the manifest is {size} bytes or more; at most {MAX_METADATA} are accepted"
                )
            };
            if let Some(size) = response
                .content_length()
                .filter(|&n| n > MAX_METADATA as u64)
            {
                return Err(too_big(size));
            }
            let mut bytes = Vec::new();
            while let Some(chunk) = response.chunk().await.context("reading the manifest")? {
                if bytes.len() + chunk.len() > MAX_METADATA {
                    return Err(too_big((bytes.len() + chunk.len()) as u64));
                }
                bytes.extend_from_slice(&chunk);
            }
            if !status.is_success() {
                bail!(
                    "GET {url}: {status}: {}",
                    String::from_utf8_lossy(&bytes[..bytes.len().min(512)])
                );
            }
            Ok(Some(bytes))
        })
    }

    /// Pushes `signatures` of manifest `signed` to `reference`'s
    /// repository, replacing the tag's earlier content.
    pub fn push_signatures(
        &self,
        reference: &Reference,
        signed: &str,
        signatures: &Signatures,
    ) -> Result<()> {
        let tag = signature_reference(reference, signed)?;
        let auth = self.auth(&tag)?;
        let client = &self.client;
        self.runtime
            .block_on(async {
                client
                    .auth(&tag, &auth, oci_client::RegistryOperation::Push)
                    .await?;
                let blobs = signatures
                    .payloads
                    .iter()
                    .map(|(_, payload)| payload)
                    .chain([&signatures.config]);
                for blob in blobs {
                    client.push_blob(&tag, blob.clone(), &digest(blob)).await?;
                }
                client
                    .push_manifest_raw(
                        &tag,
                        signatures.manifest.clone(),
                        OCI_IMAGE_MEDIA_TYPE.parse()?,
                    )
                    .await?;
                anyhow::Ok(())
            })
            .map_err(|e| explained(e, reference))
            .with_context(|| format!("pushing the signatures {}", tag.whole()))
    }

    /// A metadata blob (a config, a signature payload), at most
    /// [`MAX_METADATA`] bytes.
    fn bounded_blob(&self, reference: &Reference, descriptor: &OciDescriptor) -> Result<Vec<u8>> {
        anyhow::ensure!(
            (0..=MAX_METADATA as i64).contains(&descriptor.size),
            "blob {} claims {} bytes; at most {MAX_METADATA} are accepted",
            descriptor.digest,
            descriptor.size
        );
        check_digest_form(&descriptor.digest)?;
        self.blob(reference, descriptor)
    }

    /// Pulls the app or gadget `reference` names, every blob checked.
    pub fn pull(&self, reference: &Reference) -> Result<Image> {
        let bytes = self.manifest_bytes(reference)?;
        if gadget::is_index(&bytes) {
            return self
                .pull_gadget(reference, bytes)
                .with_context(|| format!("the gadget image {}", reference.whole()))
                .map(|gadget| Image::Gadget(Box::new(gadget)));
        }
        let manifest = Manifest::parse(&bytes)
            .with_context(|| format!("the manifest of {}", reference.whole()))?;
        let config = self.bounded_blob(reference, &manifest.config)?;
        let wasm = self.blob(reference, &manifest.layer)?;
        Ok(Image::App(Artifact {
            manifest_digest: digest(&bytes),
            manifest: bytes,
            config,
            wasm,
        }))
    }

    /// Of the gadget image whose index is `index`, this architecture's
    /// manifest and every blob it names.
    fn pull_gadget(&self, reference: &Reference, index: Vec<u8>) -> Result<Gadget> {
        let descriptor = gadget::platform_manifest(&index, gadget::this_architecture())?;
        let platform = reference.clone_with_digest(descriptor.digest.clone());
        let manifest = self.manifest_bytes(&platform)?;
        let parsed = GadgetManifest::parse(&manifest)
            .with_context(|| format!("its manifest {}", descriptor.digest))?;
        let config = self.bounded_blob(reference, &parsed.config)?;
        let layers = parsed
            .layers
            .iter()
            .map(|layer| self.blob(reference, layer))
            .collect::<Result<_>>()?;
        Ok(Gadget {
            index_digest: digest(&index),
            index,
            manifest,
            parsed,
            config,
            layers,
        })
    }

    /// The blob `descriptor` names, refused as soon as it outgrows the
    /// size the descriptor gives, and checked against its digest.
    pub fn blob(&self, reference: &Reference, descriptor: &OciDescriptor) -> Result<Vec<u8>> {
        let limit = usize::try_from(descriptor.size).unwrap_or(usize::MAX);
        let context = || {
            format!(
                "fetching blob {} of {}",
                descriptor.digest,
                reference.whole()
            )
        };
        let bytes = self
            .runtime
            .block_on(async {
                let mut stream = self.client.pull_blob_stream(reference, descriptor).await?;
                let mut bytes = Vec::with_capacity(limit.min(MAX_METADATA));
                while let Some(chunk) = stream.next().await {
                    let chunk = chunk.map_err(|e| {
                        // oci-client checks the digest as the last bytes
                        // arrive, and fails the stream when it differs.
                        let mismatch = e
                            .get_ref()
                            .is_some_and(|inner| inner.is::<oci_client::errors::DigestError>());
                        if mismatch {
                            anyhow::anyhow!("the blob does not match its digest: {e}")
                        } else {
                            anyhow::Error::from(e).context("the connection failed mid-blob")
                        }
                    })?;
                    if bytes.len() + chunk.len() > limit {
                        bail!("the registry sent more than the {limit} bytes the manifest gives");
                    }
                    bytes.extend_from_slice(&chunk);
                }
                anyhow::Ok(bytes)
            })
            .with_context(context)?;
        check_blob(descriptor, &bytes).with_context(context)?;
        Ok(bytes)
    }
}
