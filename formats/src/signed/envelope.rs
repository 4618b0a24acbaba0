//! The DSSE envelope and its pre-authentication encoding.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::error::VerifyError;

/// The DSSE payload type of an in-toto statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// A DSSE envelope, serialised as
/// `{"payloadType":…,"payload":"<std base64>","signatures":[{"keyid":…,"sig":…}]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// What the payload is ([`PAYLOAD_TYPE`]).
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    /// The payload bytes, standard base64 with padding.
    pub payload: String,
    /// One signature per signing key.
    pub signatures: Vec<Signature>,
}

/// One signature of an [`Envelope`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    /// The signing key's id (`ed25519:<16 hex>`).
    pub keyid: String,
    /// The ed25519 signature over [`pae`], standard base64.
    pub sig: String,
}

impl Envelope {
    /// Parse envelope JSON.
    pub fn from_json(bytes: &[u8]) -> Result<Envelope, VerifyError> {
        serde_json::from_slice(bytes)
            .map_err(|e| VerifyError::MalformedEnvelope(format!("not a DSSE envelope (JSON): {e}")))
    }

    /// The envelope as JSON bytes (what the registry stores and serves).
    pub fn to_json(&self) -> Vec<u8> {
        // Strings and a list of string pairs always serialise.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The decoded payload bytes.
    pub fn payload_bytes(&self) -> Result<Vec<u8>, VerifyError> {
        STANDARD.decode(self.payload.as_bytes()).map_err(|e| {
            VerifyError::MalformedEnvelope(format!("payload is not standard base64: {e}"))
        })
    }
}

/// DSSE pre-authentication encoding:
/// `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, lengths as ASCII decimal byte
/// counts. This is what is signed.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload_type.len() + payload.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}
