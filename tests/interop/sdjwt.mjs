// SD-JWT VC peer for the Rust interop tests (tests/tests/sd_jwt_interop.rs), on @sd-jwt 0.19
// (github.com/openwallet-foundation/sd-jwt-js).
//
//   node sdjwt.mjs <issue|present|verify>  < input.json  > output.json
//
// issue   {issuerKey, holderJwk, claims, frame, vct, iss, iat}    -> {sdjwt}
// present {sdjwt, holderKey, presentationFrame, aud, nonce, iat}  -> {presentation}
// verify  {token, issuerJwk, nonce}                              -> {ok: true, claims, header, kb}
//                                                                  | {ok: false, error}
//
// Private keys (`issuerKey`, `holderKey`) are PKCS#8 DER, base64url. Public keys are JWKs.
// `verify` returns what the library verified; it does not check `aud` or `typ` itself (the
// library does not either), so the caller asserts on `header` and `kb`.
// Any other failure goes to stderr with exit code 1.

import { createPrivateKey } from 'node:crypto';
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

async function verify({ token, issuerJwk, nonce }) {
  const verifier = new SDJwtVcInstance({
    ...base,
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
