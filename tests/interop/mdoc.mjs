// ISO/IEC 18013-5 mdoc peer for the Rust interop tests (tests/tests/mdoc_interop.rs), on
// @animo-id/mdoc 0.6.0-alpha (github.com/openwallet-foundation-labs/mdoc-ts, published since as
// @owf/mdoc).
//
//   node mdoc.mjs <issue|present|verify>  < input.json  > output.json
//
// issue   {docType, namespaces: {ns: {el: value}}, issuerKey, issuerCertificate, deviceJwk,
//          signed, validFrom, validUntil}                          -> {issuerSigned}
// present {issuerSigned, docType, disclose: {ns: [el]}, deviceKey, transcript} -> {deviceResponse}
// verify  {deviceResponse, trustedCertificates: [der], transcript, now}
//         -> {ok: true, sessionTranscript, docType, claims: {ns: {el: value}}}
//          | {ok: false, sessionTranscript, failed: ["CATEGORY: check (reason)"]}
//
// transcript is the OpenID4VP 1.0 redirect handover input {clientId, nonce, responseUri,
// jwkThumbprint?}. Bytes (keys, certificates, CBOR, thumbprint) are base64url; private keys are
// PKCS#8 DER, public keys JWKs; times are seconds since the epoch. Element values are JSON, a
// full-date (tag 1004) is written {"$full-date": "YYYY-MM-DD"}, a tdate {"$tdate": "..."} and a
// byte string {"$bytes": base64url}, both ways; integers beyond 2^53 come out as strings.
//
// The library leaves all cryptography and X.509 to the caller (`MdocContext`); the one below
// uses node:crypto, supports ES256 only, and no deviceMac. Any other failure goes to stderr with
// exit code 1.

import {
  X509Certificate, createHash, createPrivateKey, createPublicKey, randomBytes, sign,
  verify as verifySignature,
} from 'node:crypto';
import {
  CoseKey, DateOnly, DeviceKey, DeviceRequest, DeviceResponse, DocRequest, Holder, Issuer,
  IssuerSigned, ItemsRequest, SessionTranscript, SignatureAlgorithm, Verifier,
} from '@animo-id/mdoc';

const bytes = (b64url) => new Uint8Array(Buffer.from(b64url, 'base64url'));
const b64url = (data) => Buffer.from(data).toString('base64url');
const date = (seconds) => new Date(seconds * 1000);

const es256Jwk = (key) => ({ ...key.export({ format: 'jwk' }), alg: 'ES256' });
const privateCoseKey = (pkcs8) =>
  CoseKey.fromJwk(es256Jwk(createPrivateKey({ key: bytes(pkcs8), format: 'der', type: 'pkcs8' })));

// COSE signatures are r || s, not DER.
const rawSignature = (key) => ({ key, dsaEncoding: 'ieee-p1363' });

function es256(what, alg) {
  if (alg !== undefined && alg !== 'ES256' && alg !== SignatureAlgorithm.ES256) {
    throw new Error(`${what}: only ES256 is supported here, not ${alg}`);
  }
}

// "C=DE\nO=Example\nCN=..." as node prints a name -> the values of `field`.
const nameField = (name, field) =>
  name.split('\n').filter((l) => l.startsWith(`${field}=`)).map((l) => l.slice(field.length + 1));

const context = {
  crypto: {
    random: (length) => new Uint8Array(randomBytes(length)),
    digest: ({ digestAlgorithm, bytes }) => {
      const hash = createHash(digestAlgorithm.replace('-', '').toLowerCase()); // SHA-256 -> sha256
      return new Uint8Array(hash.update(bytes).digest());
    },
    calculateEphemeralMacKey: () => {
      throw new Error('deviceMac is not supported by this peer');
    },
  },
  cose: {
    sign1: {
      sign: ({ toBeSigned, key }) => {
        es256('COSE_Sign1', key.algorithm);
        const privateKey = createPrivateKey({ key: key.jwk, format: 'jwk' });
        return new Uint8Array(sign('sha256', toBeSigned, rawSignature(privateKey)));
      },
      verify: ({ sign1, key }) => {
        es256('COSE_Sign1', sign1.signatureAlgorithmName);
        const { d: _, ...jwk } = key.jwk;
        const publicKey = createPublicKey({ key: jwk, format: 'jwk' });
        return verifySignature('sha256', sign1.toBeSigned, rawSignature(publicKey), sign1.signature);
      },
    },
    mac0: {
      sign: () => {
        throw new Error('deviceMac is not supported by this peer');
      },
      verify: () => {
        throw new Error('deviceMac is not supported by this peer');
      },
    },
  },
  x509: {
    // As the library's own test context: the field of the certificate's issuer name.
    getIssuerNameField: ({ certificate, field }) =>
      nameField(new X509Certificate(certificate).issuer, field),
    getPublicKey: ({ certificate, alg }) => {
      es256('certificate', alg);
      return CoseKey.fromJwk(es256Jwk(new X509Certificate(certificate).publicKey));
    },
    // x5chain[0] is the document signer; each certificate must be valid at `now` and signed by
    // the next one, and the last one must be, or be signed by, a trusted certificate. Key usage,
    // extended key usage and basic constraints are not checked.
    verifyCertificateChain: ({ trustedCertificates, x5chain, now = new Date() }) => {
      const chain = x5chain.map((der) => new X509Certificate(der));
      const trusted = trustedCertificates.map((der) => new X509Certificate(der));
      const signedBy = (cert, by) => cert.checkIssued(by) && cert.verify(by.publicKey);
      for (const [i, cert] of chain.entries()) {
        if (now < new Date(cert.validFrom) || now > new Date(cert.validTo)) {
          throw new Error(`x5chain[${i}] (${cert.subject}) is not valid at ${now.toISOString()}`);
        }
        const next = chain[i + 1];
        if (next && !signedBy(cert, next)) {
          throw new Error(`x5chain[${i}] is not signed by x5chain[${i + 1}]`);
        }
      }
      const last = chain.at(-1);
      if (!last || !trusted.some((t) => t.raw.equals(last.raw) || signedBy(last, t))) {
        throw new Error('x5chain does not lead to a trusted certificate');
      }
    },
    getCertificateData: ({ certificate }) => {
      const cert = new X509Certificate(certificate);
      return {
        issuerName: cert.issuer,
        subjectName: cert.subject,
        serialNumber: cert.serialNumber,
        thumbprint: cert.fingerprint256.replaceAll(':', '').toLowerCase(),
        notBefore: new Date(cert.validFrom),
        notAfter: new Date(cert.validTo),
        pem: cert.toString(),
      };
    },
  },
};

// JSON <-> CBOR element values, see the header.
function fromJson(value) {
  if (Array.isArray(value)) return value.map(fromJson);
  if (value === null || typeof value !== 'object') return value;
  if ('$full-date' in value) return new DateOnly(value['$full-date']);
  if ('$tdate' in value) return new Date(value.$tdate);
  if ('$bytes' in value) return bytes(value.$bytes);
  return new Map(Object.entries(value).map(([k, v]) => [k, fromJson(v)]));
}

function toJson(value) {
  if (value instanceof DateOnly) return { '$full-date': value.toISOString() };
  if (value instanceof Date) return { $tdate: value.toISOString() };
  if (value instanceof Uint8Array) return { $bytes: b64url(value) };
  if (Array.isArray(value)) return value.map(toJson);
  if (value instanceof Map) {
    return Object.fromEntries([...value].map(([k, v]) => [String(k), toJson(v)]));
  }
  if (typeof value === 'bigint') return String(value);
  return value;
}

const sessionTranscript = ({ clientId, nonce, responseUri, jwkThumbprint }) =>
  SessionTranscript.forOid4Vp(
    { clientId, nonce, responseUri, jwkThumbprint: jwkThumbprint && bytes(jwkThumbprint) },
    context,
  );

async function issue(input) {
  const { docType, namespaces, issuerKey, issuerCertificate, deviceJwk } = input;
  const { signed, validFrom, validUntil } = input;
  const issuer = new Issuer(docType, context);
  for (const [ns, elements] of Object.entries(namespaces)) {
    const values = Object.entries(elements).map(([k, v]) => [k, fromJson(v)]);
    issuer.addIssuerNamespace(ns, Object.fromEntries(values));
  }
  const issuerSigned = await issuer.sign({
    signingKey: privateCoseKey(issuerKey),
    algorithm: SignatureAlgorithm.ES256,
    digestAlgorithm: 'SHA-256',
    validityInfo: {
      signed: date(signed),
      validFrom: date(validFrom),
      validUntil: date(validUntil),
    },
    deviceKeyInfo: { deviceKey: DeviceKey.fromJwk(deviceJwk) },
    certificate: bytes(issuerCertificate),
  });
  return { issuerSigned: b64url(issuerSigned.encode()) };
}

async function present({ issuerSigned, docType, disclose, deviceKey, transcript }) {
  // {ns: {element: intentToRetain}}
  const namespaces = Object.fromEntries(
    Object.entries(disclose).map(([ns, els]) => [ns, Object.fromEntries(els.map((el) => [el, false]))]),
  );
  const itemsRequest = ItemsRequest.create({ docType, namespaces });
  const deviceRequest = DeviceRequest.create({ docRequests: [DocRequest.create({ itemsRequest })] });
  const response = await Holder.createDeviceResponseForDeviceRequest(
    {
      deviceRequest,
      sessionTranscript: await sessionTranscript(transcript),
      issuerSigned: [IssuerSigned.decode(bytes(issuerSigned))],
      signature: { signingKey: privateCoseKey(deviceKey) },
    },
    context,
  );
  return { deviceResponse: response.encodedForOid4Vp };
}

async function verify({ deviceResponse, trustedCertificates, transcript, now }) {
  const st = await sessionTranscript(transcript);
  const failed = [];
  const onCheck = ({ status, category, check, reason }) => {
    if (status === 'FAILED') failed.push(`${category}: ${check}${reason ? ` (${reason})` : ''}`);
  };
  const response = DeviceResponse.fromEncodedForOid4Vp(deviceResponse);
  await Verifier.verifyDeviceResponse(
    {
      deviceResponse: response,
      sessionTranscript: st,
      trustedCertificates: trustedCertificates.map(bytes),
      now: date(now),
      onCheck,
    },
    context,
  );
  const out = { sessionTranscript: b64url(st.encode()) };
  if (failed.length > 0) return { ok: false, ...out, failed };
  const [document, ...others] = response.documents ?? [];
  if (!document || others.length > 0) {
    return { ok: false, ...out, failed: ['expected exactly one document'] };
  }
  const claims = {};
  for (const [ns, items] of document.issuerSigned.issuerNamespaces.issuerNamespaces) {
    claims[ns] = Object.fromEntries(
      items.map((item) => [item.elementIdentifier, toJson(item.elementValue)]),
    );
  }
  return { ok: true, ...out, docType: document.docType, claims };
}

const commands = { issue, present, verify };
const command = commands[process.argv[2]];
if (!command) {
  console.error(`usage: node mdoc.mjs <${Object.keys(commands).join('|')}>`);
  process.exit(2);
}
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const output = await command(JSON.parse(Buffer.concat(chunks).toString('utf8')));
process.stdout.write(JSON.stringify(output));
