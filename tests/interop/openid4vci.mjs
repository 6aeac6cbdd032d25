// OpenID4VCI 1.0 wallet peer for the Rust interop tests (tests/tests/issuer_interop.rs), on
// @openid4vc/openid4vci (github.com/openwallet-foundation-labs/oid4vc-ts), a wallet library
// nobody in this project wrote.
//
//   node openid4vci.mjs receive  < input.json  > output.json
//
// receive {offer, txCode, batch, allowInsecure}
//   -> {tokenType, credentials: [{configurationId, format, credential, holderKey, holderJwk}],
//       notifications: [configurationId, ...]}
//
// `offer` is an `openid-credential-offer://` link (by value or by reference). The pre-authorized
// code flow is run with the library's own DPoP (a fresh P-256 key) and `tx_code`; for every
// configuration of the offer one credential request carries `batch` key proofs, each for a fresh
// holder key, and the library's notification call reports `credential_accepted`. `holderKey` is
// the PKCS#8 DER (base64url) of the key a credential is bound to, so the caller can present it.
// `allowInsecure` lets the library talk plain HTTP (the issuer under test listens on loopback).
// Any failure goes to stderr with exit code 1, with the library's error and the server's answer.

import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import {
  Openid4vciClient,
  setGlobalConfig,
} from '@openid4vc/openid4vci';
import { clientAuthenticationAnonymous } from '@openid4vc/oauth2';

const b64url = (data) => Buffer.from(data).toString('base64url');

function newKey() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { kty, crv, x, y } = publicKey.export({ format: 'jwk' });
  return {
    privateKey,
    jwk: { kty, crv, x, y },
    pkcs8: b64url(privateKey.export({ format: 'der', type: 'pkcs8' })),
  };
}

// Keys by the x coordinate of their public JWK: the library hands the signer's public JWK to
// `signJwt`, which must find the private key that goes with it.
const keys = new Map();
function remember(key) {
  keys.set(key.jwk.x, key);
  return key;
}

const callbacks = {
  fetch: globalThis.fetch,
  hash: (data, alg) => {
    if (alg !== 'sha-256') throw new Error(`hash ${alg} not supported here`);
    return new Uint8Array(createHash('sha256').update(data).digest());
  },
  generateRandom: (length) => new Uint8Array(randomBytes(length)),
  clientAuthentication: clientAuthenticationAnonymous(),
  signJwt: async (signer, { header, payload }) => {
    if (signer.method !== 'jwk' || signer.alg !== 'ES256') {
      throw new Error(`signer ${signer.method}/${signer.alg} not supported here`);
    }
    const key = keys.get(signer.publicJwk.x);
    if (!key) throw new Error('no private key for the signer');
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
    const signature = sign('sha256', Buffer.from(input), {
      key: key.privateKey,
      dsaEncoding: 'ieee-p1363',
    });
    return { jwt: `${input}.${b64url(signature)}`, signerJwk: key.jwk };
  },
};

const jwkSigner = (key) => ({ method: 'jwk', alg: 'ES256', publicJwk: key.jwk });

async function receive({ offer, txCode, batch = 1, allowInsecure = false }) {
  setGlobalConfig({ allowInsecureUrls: Boolean(allowInsecure) });
  const client = new Openid4vciClient({ callbacks });

  const credentialOffer = await client.resolveCredentialOffer(offer);
  const issuerMetadata = await client.resolveIssuerMetadata(credentialOffer.credential_issuer);

  const dpopKey = remember(newKey());
  const token = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
    credentialOffer,
    issuerMetadata,
    txCode,
    dpop: { signer: jwkSigner(dpopKey) },
  });
  let dpop = token.dpop;
  const accessToken = token.accessTokenResponse.access_token;

  const credentials = [];
  const notifications = [];
  for (const configurationId of credentialOffer.credential_configuration_ids) {
    const configuration =
      issuerMetadata.credentialIssuer.credential_configurations_supported[configurationId];
    const { c_nonce: nonce } = await client.requestNonce({ issuerMetadata });
    const holders = [];
    const jwts = [];
    for (let i = 0; i < batch; i += 1) {
      const holder = remember(newKey());
      holders.push(holder);
      const { jwt } = await client.createCredentialRequestJwtProof({
        issuerMetadata,
        credentialConfigurationId: configurationId,
        signer: jwkSigner(holder),
        nonce,
      });
      jwts.push(jwt);
    }
    const answer = await client.retrieveCredentials({
      issuerMetadata,
      credentialConfigurationId: configurationId,
      proofs: { jwt: jwts },
      accessToken,
      dpop,
    });
    dpop = answer.dpop ?? dpop;
    const issued = answer.credentialResponse.credentials ?? [];
    if (issued.length !== batch) {
      throw new Error(`${configurationId}: asked for ${batch} credentials, got ${issued.length}`);
    }
    issued.forEach(({ credential }, i) => {
      credentials.push({
        configurationId,
        format: configuration.format,
        credential,
        holderKey: holders[i].pkcs8,
        holderJwk: holders[i].jwk,
      });
    });
    const notificationId = answer.credentialResponse.notification_id;
    if (notificationId) {
      const sent = await client.sendNotification({
        issuerMetadata,
        notification: { notificationId, event: 'credential_accepted' },
        accessToken,
        dpop,
      });
      dpop = sent.dpop ?? dpop;
      notifications.push(configurationId);
    }
  }
  return { tokenType: token.accessTokenResponse.token_type, credentials, notifications };
}

const commands = { receive };
const command = commands[process.argv[2]];
if (!command) {
  process.stderr.write(`usage: node openid4vci.mjs <${Object.keys(commands).join('|')}>\n`);
  process.exit(2);
}
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
try {
  const output = await command(JSON.parse(Buffer.concat(chunks).toString('utf8')));
  process.stdout.write(JSON.stringify(output));
} catch (e) {
  // The library's errors carry the server's answer; print it so a failing test says why.
  const detail = e?.response ? ` (server answered ${e.response.status})` : '';
  const body = e?.errorResponse ? ` ${JSON.stringify(e.errorResponse)}` : '';
  process.stderr.write(`${e?.name ?? 'Error'}: ${e?.message ?? e}${detail}${body}\n`);
  process.exit(1);
}
