// JWE peer for the Rust interop tests (tests/tests/jwe_interop.rs), on `jose` 6
// (github.com/panva/jose), the most used JOSE library of the JavaScript ecosystem.
//
//   node jose.mjs <keypair|encrypt|decrypt>  < input.json  > output.json
//
// keypair {}                                              -> {publicJwk, privateJwk}
// encrypt {plaintext, publicJwk, alg, enc, kid, apu, apv} -> {jwe}
// decrypt {jwe, privateJwk}                               -> {ok: true, plaintext, header}
//                                                          | {ok: false, error}
//
// `plaintext` is UTF-8 text; `apu`/`apv` are base64url. `alg` defaults to ECDH-ES, the only one
// HAIP 1.0 uses; another (ECDH-ES+A128KW) is accepted so the tests can check that the Rust side
// refuses it. Any other failure goes to stderr with exit code 1.

import { CompactEncrypt, compactDecrypt, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK } from 'jose';

async function keypair() {
  const { publicKey, privateKey } = await generateKeyPair('ECDH-ES', { crv: 'P-256', extractable: true });
  return { publicJwk: await exportJWK(publicKey), privateJwk: await exportJWK(privateKey) };
}

async function encrypt({ plaintext, publicJwk, alg = 'ECDH-ES', enc, kid, apu, apv }) {
  const key = await importJWK(publicJwk, alg);
  const header = { alg, enc, ...(kid ? { kid } : {}) };
  const jwe = new CompactEncrypt(new TextEncoder().encode(plaintext)).setProtectedHeader(header);
  const parameters = {};
  if (apu) parameters.apu = Buffer.from(apu, 'base64url');
  if (apv) parameters.apv = Buffer.from(apv, 'base64url');
  if (Object.keys(parameters).length > 0) jwe.setKeyManagementParameters(parameters);
  return { jwe: await jwe.encrypt(key) };
}

async function decrypt({ jwe, privateJwk }) {
  try {
    const alg = decodeProtectedHeader(jwe).alg;
    const key = await importJWK(privateJwk, alg);
    const { plaintext, protectedHeader } = await compactDecrypt(jwe, key);
    return { ok: true, plaintext: new TextDecoder().decode(plaintext), header: protectedHeader };
  } catch (e) {
    return { ok: false, error: String(e?.code ?? e?.message ?? e) };
  }
}

const commands = { keypair, encrypt, decrypt };
const command = commands[process.argv[2]];
if (!command) {
  process.stderr.write(`usage: node jose.mjs <${Object.keys(commands).join('|')}>\n`);
  process.exit(2);
}
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const output = await command(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'));
process.stdout.write(JSON.stringify(output));
