//! The SessionTranscript (ISO/IEC 18013-5 §9.1.5.1) that device authentication binds a
//! presentation to, with the OpenID4VP 1.0 handovers (Appendix B.2.6).
//!
//! ```cddl
//! SessionTranscript = [ DeviceEngagementBytes, EReaderKeyBytes, Handover ]
//! SessionTranscriptBytes = #6.24(bstr .cbor SessionTranscript)
//!
//! ; OpenID4VP 1.0 B.2.6.1, invocation via redirects: both bytes fields null
//! OpenID4VPHandover = [ "OpenID4VPHandover", bstr ]  ; SHA-256 of OpenID4VPHandoverInfo
//! OpenID4VPHandoverInfo = [ clientId: tstr, nonce: tstr, jwkThumbprint: bstr / null, responseUri: tstr ]
//!
//! ; OpenID4VP 1.0 B.2.6.2, invocation via the Digital Credentials API
//! OpenID4VPDCAPIHandover = [ "OpenID4VPDCAPIHandover", bstr ]
//! OpenID4VPDCAPIHandoverInfo = [ origin: tstr, nonce: tstr, jwkThumbprint: bstr / null ]
//! ```

use aws_lc_rs::digest;
use eudi_cbor::Budget;
use eudi_cbor::{self as cbor};

use crate::enc;
use crate::error::DecodeError;

/// A SessionTranscript, kept as the exact CBOR both sides hash and sign.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionTranscript {
    /// `SessionTranscript`, encoded.
    cbor: Vec<u8>,
    /// `SessionTranscriptBytes`: the tag-24 form, as received when it was given that way.
    tagged: Vec<u8>,
}

impl std::fmt::Debug for SessionTranscript {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionTranscript")
            .field("cbor", &crate::text::to_hex(&self.cbor))
            .finish()
    }
}

impl SessionTranscript {
    /// The OpenID4VP 1.0 redirect transcript (Appendix B.2.6.1):
    /// `[null, null, ["OpenID4VPHandover", sha256(cbor([client_id, nonce, jwk_thumbprint or
    /// null, response_uri]))]]`.
    ///
    /// `client_id` includes its Client Identifier Prefix; `jwk_thumbprint` is the RFC 7638
    /// SHA-256 thumbprint of the verifier's response encryption key when the response is
    /// encrypted (`direct_post.jwt`), else `None`; `response_uri` is the `response_uri` or
    /// `redirect_uri`, whichever the response mode uses.
    pub fn openid4vp(
        client_id: &str,
        nonce: &str,
        jwk_thumbprint: Option<&[u8; 32]>,
        response_uri: &str,
    ) -> Self {
        let info = enc::array(&[
            enc::text(client_id),
            enc::text(nonce),
            thumbprint(jwk_thumbprint),
            enc::text(response_uri),
        ]);
        Self::with_handover("OpenID4VPHandover", &info)
    }

    /// The OpenID4VP 1.0 Digital Credentials API transcript (Appendix B.2.6.2):
    /// `[null, null, ["OpenID4VPDCAPIHandover", sha256(cbor([origin, nonce, jwk_thumbprint or
    /// null]))]]`.
    pub fn openid4vp_dc_api(origin: &str, nonce: &str, jwk_thumbprint: Option<&[u8; 32]>) -> Self {
        let info = enc::array(&[
            enc::text(origin),
            enc::text(nonce),
            thumbprint(jwk_thumbprint),
        ]);
        Self::with_handover("OpenID4VPDCAPIHandover", &info)
    }

    fn with_handover(name: &str, info: &[u8]) -> Self {
        let hash = digest::digest(&digest::SHA256, info);
        let handover = enc::array(&[enc::text(name), enc::bytes(hash.as_ref())]);
        let cbor = enc::array(&[vec![0xf6], vec![0xf6], handover]);
        let tagged = enc::tag24(&cbor);
        Self { cbor, tagged }
    }

    /// Any other SessionTranscript (ISO/IEC 18013-5 proximity, pre-1.0 OpenID4VP drafts, …)
    /// from its CBOR encoding. It must be one well-formed array of three items; its bytes are
    /// kept exactly.
    pub fn from_cbor(bytes: &[u8]) -> Result<Self, DecodeError> {
        check_transcript(bytes)?;
        Ok(Self {
            cbor: bytes.to_vec(),
            tagged: enc::tag24(bytes),
        })
    }

    /// A transcript given as `SessionTranscriptBytes` (`#6.24(bstr .cbor SessionTranscript)`),
    /// as ISO/IEC 18013-5 Annex D prints it. Both forms are kept exactly: the HKDF salt of
    /// deviceMac is the SHA-256 of these tagged bytes.
    pub fn from_tagged_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut budget = Budget::new();
        let item = cbor::decode(bytes, &mut budget)?;
        let inner = item
            .as_tag24()
            .ok_or_else(|| DecodeError::malformed("SessionTranscriptBytes", "not #6.24(bstr)"))?;
        check_transcript(inner)?;
        Ok(Self {
            cbor: inner.to_vec(),
            tagged: bytes.to_vec(),
        })
    }

    /// The encoded `SessionTranscript`, as embedded in DeviceAuthentication.
    pub fn as_cbor(&self) -> &[u8] {
        &self.cbor
    }

    /// The encoded `SessionTranscript`, owned.
    pub fn to_cbor(&self) -> Vec<u8> {
        self.cbor.clone()
    }

    /// `SessionTranscriptBytes`: the tag-24 wrapped form.
    pub fn session_transcript_bytes(&self) -> &[u8] {
        &self.tagged
    }
}

fn thumbprint(jwk_thumbprint: Option<&[u8; 32]>) -> Vec<u8> {
    jwk_thumbprint.map_or_else(|| vec![0xf6], |t| enc::bytes(t))
}

fn check_transcript(bytes: &[u8]) -> Result<(), DecodeError> {
    let mut budget = Budget::new();
    let item = cbor::decode(bytes, &mut budget)?;
    match item.as_array() {
        Some(items) if items.len() == 3 => Ok(()),
        _ => Err(DecodeError::malformed(
            "SessionTranscript",
            "not an array of DeviceEngagementBytes, EReaderKeyBytes and Handover",
        )),
    }
}
