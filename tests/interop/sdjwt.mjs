// SD-JWT VC peer for the Rust interop tests (tests/tests/sd_jwt_interop.rs), on @sd-jwt 0.19
// (github.com/openwallet-foundation/sd-jwt-js).
//
//   node sdjwt.mjs <issue|present|verify>  < input.json  > output.json
//
// issue   {issuerKey, holderJwk, claims, frame, vct, iss, iat}    -> {sdjwt}
// present {sdjwt, holderKey, presentationFrame, aud, nonce, iat}  -> {presentation}
// verify  {token, issuerJwk, nonce}                              -> {ok: true, claims, header, kb}
//                                                                  | {ok: false, error}
// verify  {token, trustedCertificates: [pem], nonce}              (the same, with the issuer key
//         taken from the `x5c` header, whose chain must end in one of the PEM certificates; the
//         library then also fetches the status list and checks the credential is valid)
//
// Private keys (`issuerKey`, `holderKey`) are PKCS#8 DER, base64url. Public keys are JWKs.
// `verify` returns what the library verified; it does not check `aud` or `typ` itself (the
// library does not either), so the caller asserts on `header` and `kb`.
// Any other failure goes to stderr with exit code 1.

import { X509Certificate, createPrivateKey } from 'node:crypto';
import { ES256, digest, generateSalt } from '@sd-jwt/crypto-nodejs';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';

const privateJwk = (pkcs8) =>
  createPrivateKey({ key: Buffer.from(pkcs8, 'base64url'), format: 'der', type: 'pkcs8' })
    .export({ format: 'jwk' });

const base = { hasher: digest, hashAlg: 'sha-256', saltGenerator: generateSalt };

async function issue({ issuerKey, holderJwk, claims, frame, vct, iss, iat }) {
  const sdjwt = new SDJwtVcInstance({
    ...base,
    signer: await ES256.getSigner(privateJwk(issuerKey)),
    signAlg: ES256.alg,
  });
  const payload = { ...claims, vct, iss, iat, cnf: { jwk: holderJwk } };
  return { sdjwt: await sdjwt.issue(payload, frame) };
}

async function present({ sdjwt, holderKey, presentationFrame, aud, nonce, iat }) {
  const holder = new SDJwtVcInstance({
    ...base,
    kbSigner: await ES256.getSigner(privateJwk(holderKey)),
    kbSignAlg: ES256.alg,
  });
  const kb = { payload: { iat, aud, nonce } };
  return { presentation: await holder.present(sdjwt, presentationFrame, { kb }) };
}

// The issuer key of `token` from its `x5c` header (RFC 7515 §4.1.6: base64, not base64url), after
// checking with node's own X.509 code that each certificate is signed by the next and the last by
// one of `trusted`, each within its validity.
function x5cIssuerJwk(token, trusted) {
  const header = JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString('utf8'));
  if (!Array.isArray(header.x5c) || header.x5c.length === 0) throw new Error('no x5c header');
  const chain = header.x5c.map((c) => new X509Certificate(Buffer.from(c, 'base64')));
  const anchors = trusted.map((pem) => new X509Certificate(pem));
  const now = new Date();
  for (const cert of chain) {
    if (new Date(cert.validFrom) > now || new Date(cert.validTo) < now) {
      throw new Error(`certificate ${cert.subject} is not valid now`);
    }
  }
  for (let i = 0; i + 1 < chain.length; i += 1) {
    if (!chain[i].verify(chain[i + 1].publicKey)) throw new Error(`x5c[${i}] not signed by x5c[${i + 1}]`);
  }
  const last = chain[chain.length - 1];
  if (!anchors.some((a) => last.checkIssued(a) && last.verify(a.publicKey))) {
    throw new Error('the x5c chain does not end in a trusted certificate');
  }
  return chain[0].publicKey.export({ format: 'jwk' });
}

async function verify({ token, issuerJwk, trustedCertificates, nonce }) {
  // With trusted certificates, a `status.status_list` is checked by the library too: it fetches
  // the Status List Token itself; its key comes from the token's own x5c, checked like the
  // credential's (the library would otherwise verify it with the credential's key).
  let statusToken;
  const statusConfig = {};
  if (!issuerJwk) {
    try {
      issuerJwk = x5cIssuerJwk(token, trustedCertificates ?? []);
    } catch (e) {
      return { ok: false, error: String(e?.message ?? e) };
    }
    statusConfig.statusListFetcher = async (uri) => {
      const response = await fetch(uri, { headers: { Accept: 'application/statuslist+jwt' } });
      if (!response.ok) throw new Error(`status list ${uri}: ${response.status}`);
      const type = response.headers.get('content-type') ?? '';
      if (!type.includes('application/statuslist+jwt')) throw new Error(`status list type ${type}`);
      statusToken = await response.text();
      return statusToken;
    };
    statusConfig.statusVerifier = async (data, signature) =>
      (await ES256.getVerifier(x5cIssuerJwk(statusToken, trustedCertificates ?? [])))(data, signature);
  }
  const verifier = new SDJwtVcInstance({
    ...base,
    ...statusConfig,
    verifier: await ES256.getVerifier(issuerJwk),
    // The holder key is the `cnf.jwk` of the verified Issuer-signed JWT payload.
    kbVerifier: async (data, signature, payload) =>
      (await ES256.getVerifier(payload.cnf.jwk))(data, signature),
  });
  try {
    const { payload, header, kb } = await verifier.verify(token, { keyBindingNonce: nonce });
    return { ok: true, claims: payload, header, kb };
  } catch (e) {
    return { ok: false, error: String(e?.message ?? e) };
  }
}

const commands = { issue, present, verify };
const command = commands[process.argv[2]];
if (!command) {
  console.error(`usage: node sdjwt.mjs <${Object.keys(commands).join('|')}>`);
  process.exit(2);
}
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const output = await command(JSON.parse(Buffer.concat(chunks).toString('utf8')));
process.stdout.write(JSON.stringify(output));
