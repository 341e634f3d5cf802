// crypto.subtle (W3C Web Cryptography API): digest (SHA-256 in C, the
// other hashes @noble/hashes); HMAC keys (importKey and exportKey in the
// raw and jwk formats, generateKey, sign, verify); PBKDF2 and HKDF keys
// (importKey in the raw format, deriveBits, deriveKey to an HMAC key); and
// CryptoKey. HMAC, PBKDF2 and HKDF are @noble/hashes', over the C SHA-256
// for SHA-256. Nothing
// asymmetric (RSA, ECDSA, ECDH, Ed25519, X25519) and no AES: those
// algorithms fail with a NotSupportedError naming what is supported.
// Loaded on first use of crypto.subtle or CryptoKey (lazy in prelude.js).
import { hkdf } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha1 } from "@noble/hashes/legacy.js";
import { pbkdf2 } from "@noble/hashes/pbkdf2.js";
import { sha384, sha512 } from "@noble/hashes/sha2.js";
import { atob, btoa, DOMException, native } from "./shared.js";

// SHA256 is the runtime's C SHA-256 (native.sha256, one call over all the
// bytes) as a hash of @noble/hashes (its utils.createHasher's interface),
// for noble's HMAC, PBKDF2 and HKDF: update keeps copies of the chunks,
// and digestInto hashes them together. In JavaScript, noble's SHA-256
// took 1 s for the HMAC of 100 KB under wazero, and 15 s for 10,000
// PBKDF2 iterations (2026-12-03).
class SHA256 {
  blockLen = 64;
  outputLen = 32;
  canXOF = false;
  #chunks = [];
  update(bytes) {
    this.#chunks.push(bytes.slice());
    return this;
  }
  digestInto(out) {
    const all = new Uint8Array(this.#chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of this.#chunks) {
      all.set(c, at);
      at += c.length;
    }
    out.set(new Uint8Array(native.sha256(all)));
  }
  digest() {
    const out = new Uint8Array(32);
    this.digestInto(out);
    return out;
  }
  _cloneInto(to) {
    to ??= new SHA256();
    to.#chunks = [...this.#chunks];
    return to;
  }
  clone() {
    return this._cloneInto();
  }
  destroy() {
    this.#chunks = [];
  }
}
const sha256 = Object.assign((bytes) => new Uint8Array(native.sha256(bytes)), { blockLen: 64, outputLen: 32, create: () => new SHA256() });

// The hashes by their Web Crypto names, with their block size in bits
// (the default length of an HMAC key) and their JWK "alg" (JWA, section
// 3.2).
const hashes = {
  "SHA-1": { hash: sha1, block: 512, jwk: "HS1" },
  "SHA-256": { hash: sha256, block: 512, jwk: "HS256" },
  "SHA-384": { hash: sha384, block: 1024, jwk: "HS384" },
  "SHA-512": { hash: sha512, block: 1024, jwk: "HS512" },
};

// The algorithms each operation knows (WebCrypto, section 18.4).
const supported = {
  digest: ["SHA-1", "SHA-256", "SHA-384", "SHA-512"],
  sign: ["HMAC"],
  verify: ["HMAC"],
  importKey: ["HMAC", "PBKDF2", "HKDF"],
  exportKey: ["HMAC"],
  generateKey: ["HMAC"],
  deriveBits: ["PBKDF2", "HKDF"],
  "get key length": ["HMAC", "PBKDF2", "HKDF"],
  encrypt: [],
  decrypt: [],
  wrapKey: [],
  unwrapKey: [],
};

const usageNames = ["encrypt", "decrypt", "sign", "verify", "deriveKey", "deriveBits", "wrapKey", "unwrapKey"];
const formats = ["raw", "pkcs8", "spki", "jwk"];

const error = (message, name) => new DOMException(message, name);

// normalize is the spec's "normalize an algorithm" (section 18.4.4) for
// op: a name or an object with a name, matched without regard to case
// among the algorithms op supports, then the members its parameters
// dictionary has, converted.
function normalize(what, algorithm, op) {
  if (typeof algorithm === "string") algorithm = { name: algorithm };
  if (algorithm === null || typeof algorithm !== "object") throw new TypeError(`${what}: the algorithm must be a name or an object with a name`);
  if (algorithm.name === undefined) throw new TypeError(`${what}: the algorithm has no name`);
  const given = String(algorithm.name);
  const name = supported[op].find((n) => n.toUpperCase() === given.toUpperCase());
  if (!name) {
    const list = supported[op].length > 0 ? supported[op].join(", ") : "no algorithm";
    const none = op === "digest" ? "" : ", and no asymmetric algorithm (RSA, ECDSA, ECDH, Ed25519, X25519) nor AES";
    throw error(`${what}: unrecognised algorithm "${given}": wfn's runtime supports ${list} here${none}`, "NotSupportedError");
  }
  const out = { name };
  const member = (key, convert, required) => {
    const v = algorithm[key];
    if (v === undefined) {
      if (required) throw new TypeError(`${what}: the ${name} algorithm's ${key} is required`);
      return;
    }
    out[key] = convert(v, `${what}: the ${name} algorithm's ${key}`);
  };
  const hash = (v) => normalize(what, v, "digest");
  switch (`${op} ${name}`) {
    case "importKey HMAC":
    case "generateKey HMAC":
    case "get key length HMAC":
      member("hash", hash, true);
      member("length", unsignedLong, false);
      break;
    case "deriveBits PBKDF2":
      member("salt", bytesOf, true);
      member("iterations", unsignedLong, true);
      member("hash", hash, true);
      break;
    case "deriveBits HKDF":
      member("hash", hash, true);
      member("salt", bytesOf, true);
      member("info", bytesOf, true);
      break;
  }
  return out;
}

// unsignedLong converts v as WebIDL's [EnforceRange] unsigned long.
function unsignedLong(v, what) {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new TypeError(`${what} is not a finite number`);
  const x = Math.trunc(n);
  if (x < 0 || x > 0xffffffff) throw new TypeError(`${what} is out of the range of an unsigned long`);
  return x;
}

// bytesOf converts a BufferSource to a copy of its bytes.
function bytesOf(data, what) {
  if (data instanceof ArrayBuffer) return new Uint8Array(data.slice(0));
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  throw new TypeError(`${what} must be an ArrayBuffer or a view of one`);
}

function usagesOf(what, usages) {
  if (usages === null || typeof usages !== "object" || typeof usages[Symbol.iterator] !== "function") {
    throw new TypeError(`${what}: the key usages must be a sequence`);
  }
  const out = [];
  for (const u of usages) {
    const s = String(u);
    if (!usageNames.includes(s)) throw new TypeError(`${what}: "${s}" is not a key usage (${usageNames.join(", ")})`);
    if (!out.includes(s)) out.push(s);
  }
  return out;
}

function checkUsages(what, usages, allowed) {
  const bad = usages.find((u) => !allowed.includes(u));
  if (bad !== undefined) throw error(`${what}: a ${allowed.includes("sign") ? "HMAC" : "key derivation"} key cannot be used to ${bad} (${allowed.join(", ")})`, "SyntaxError");
}

// What each CryptoKey is, out of reach of the function: its bytes, and
// copies of its algorithm's names, usages and extractable, which the
// function cannot change through the objects the key's getters return.
const material = new WeakMap();
const kCreate = Symbol("create");

// CryptoKey (section 13): made by SubtleCrypto only.
export class CryptoKey {
  #type;
  #extractable;
  #algorithm;
  #usages;
  constructor(token, type, extractable, algorithm, usages, data) {
    if (token !== kCreate) throw new TypeError("Illegal constructor");
    this.#type = type;
    this.#extractable = extractable;
    this.#algorithm = algorithm;
    this.#usages = usages;
    material.set(this, { data, name: algorithm.name, hash: algorithm.hash?.name, usages: [...usages], extractable });
  }
  get type() {
    return this.#type;
  }
  get extractable() {
    return this.#extractable;
  }
  get algorithm() {
    return this.#algorithm;
  }
  get usages() {
    return this.#usages;
  }
  get [Symbol.toStringTag]() {
    return "CryptoKey";
  }
}

// keyOf returns what key is, if it is a CryptoKey.
function keyOf(what, key) {
  const k = material.get(key);
  if (k === undefined) throw new TypeError(`${what}: the key is not a CryptoKey`);
  return k;
}

function secretKey(algorithm, extractable, usages, data) {
  return new CryptoKey(kCreate, "secret", Boolean(extractable), algorithm, usages, data);
}

// useKey checks that the key k is one of algorithm's and may be used for
// usage.
function useKey(what, k, algorithm, usage) {
  if (algorithm.name !== k.name) throw error(`${what}: the key is a ${k.name} key, not a ${algorithm.name} one`, "InvalidAccessError");
  if (!k.usages.includes(usage)) throw error(`${what}: the key's usages (${k.usages.join(", ")}) do not include ${usage}`, "InvalidAccessError");
  return k;
}

const b64url = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

function fromB64url(s, what) {
  if (typeof s !== "string" || !/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) throw error(`${what}: the JWK's k is not base64url`, "DataError");
  const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

// importHMAC is HMAC's import key operation (section 29.6).
function importHMAC(what, format, keyData, alg, extractable, usages) {
  checkUsages(what, usages, ["sign", "verify"]);
  let data;
  if (format === "raw") {
    data = keyData;
  } else if (format === "jwk") {
    const jwk = keyData;
    if (jwk.kty !== "oct") throw error(`${what}: the JWK's kty is ${JSON.stringify(jwk.kty)}, not "oct"`, "DataError");
    if (jwk.k === undefined) throw error(`${what}: the JWK has no k`, "DataError");
    data = fromB64url(jwk.k, what);
    const want = hashes[alg.hash.name].jwk;
    if (jwk.alg !== undefined && jwk.alg !== want) throw error(`${what}: the JWK's alg is ${JSON.stringify(jwk.alg)}, and a key for ${alg.hash.name} is ${want}`, "DataError");
    checkJWK(what, jwk, extractable, usages);
  } else {
    throw error(`${what}: an HMAC key is imported in the raw or jwk format, not ${format}`, "NotSupportedError");
  }
  let length = data.length * 8;
  if (length === 0) throw error(`${what}: the key is empty`, "DataError");
  if (alg.length !== undefined) {
    if (alg.length > length) throw error(`${what}: the length ${alg.length} is more than the key's ${length} bits`, "DataError");
    if (alg.length <= length - 8) throw error(`${what}: the length ${alg.length} leaves out whole bytes of the key's ${length} bits`, "DataError");
    length = alg.length;
  }
  return secretKey({ name: "HMAC", hash: { name: alg.hash.name }, length }, extractable, usages, data);
}

// checkJWK checks a JWK's use, key_ops and ext against the import's
// usages and extractable.
function checkJWK(what, jwk, extractable, usages) {
  if (usages.length > 0 && jwk.use !== undefined && jwk.use !== "sig") throw error(`${what}: the JWK's use is ${JSON.stringify(jwk.use)}, not "sig"`, "DataError");
  if (jwk.key_ops !== undefined) {
    const ops = jwk.key_ops;
    if (!Array.isArray(ops) || ops.some((o) => typeof o !== "string") || new Set(ops).size !== ops.length) {
      throw error(`${what}: the JWK's key_ops is not a list of distinct operations`, "DataError");
    }
    const missing = usages.find((u) => !ops.includes(u));
    if (missing !== undefined) throw error(`${what}: the JWK's key_ops do not include ${missing}`, "DataError");
  }
  if (jwk.ext === false && extractable) throw error(`${what}: the JWK is not extractable (ext: false)`, "DataError");
}

// importKDF is PBKDF2's and HKDF's import key operation.
function importKDF(what, format, keyData, alg, extractable, usages) {
  if (format !== "raw") throw error(`${what}: a ${alg.name} key is imported in the raw format, not ${format}`, "NotSupportedError");
  checkUsages(what, usages, ["deriveKey", "deriveBits"]);
  if (extractable) throw error(`${what}: a ${alg.name} key cannot be extractable`, "SyntaxError");
  return secretKey({ name: alg.name }, false, usages, keyData);
}

// deriveBits is PBKDF2's and HKDF's derive bits operation.
function deriveBits(what, alg, k, length) {
  if (length === null || length % 8 !== 0) throw error(`${what}: the length ${length} is not a whole number of bytes`, "OperationError");
  const hash = hashes[alg.hash.name].hash;
  const data = k.data;
  if (alg.name === "PBKDF2") {
    if (alg.iterations === 0) throw error(`${what}: iterations is 0`, "OperationError");
    if (length === 0) return new Uint8Array(0);
    return pbkdf2(hash, data, alg.salt, { c: alg.iterations, dkLen: length / 8 });
  }
  if (length / 8 > 255 * hash.outputLen) throw error(`${what}: ${length} bits is more than HKDF with ${alg.hash.name} derives`, "OperationError");
  if (length === 0) return new Uint8Array(0);
  return hkdf(hash, data, alg.salt, alg.info, length / 8);
}

// SubtleCrypto (section 14). Every method returns a promise, rejected
// with what the spec says the method throws.
class SubtleCrypto {
  async digest(algorithm, data) {
    const alg = normalize("crypto.subtle.digest", algorithm, "digest");
    return hashes[alg.name].hash(bytesOf(data, "crypto.subtle.digest: the data")).buffer;
  }

  async importKey(format, keyData, algorithm, extractable, keyUsages) {
    const what = "crypto.subtle.importKey";
    format = String(format);
    if (!formats.includes(format)) throw new TypeError(`${what}: "${format}" is not a key format (${formats.join(", ")})`);
    const usages = usagesOf(what, keyUsages);
    if (format === "jwk") {
      if (keyData === null || typeof keyData !== "object" || keyData instanceof ArrayBuffer || ArrayBuffer.isView(keyData)) throw new TypeError(`${what}: a jwk key is a JSON Web Key object`);
    } else {
      keyData = bytesOf(keyData, `${what}: a ${format} key`);
    }
    const alg = normalize(what, algorithm, "importKey");
    const key = (alg.name === "HMAC" ? importHMAC : importKDF)(what, format, keyData, alg, Boolean(extractable), usages);
    if (key.usages.length === 0) throw error(`${what}: a secret key needs at least one usage`, "SyntaxError");
    return key;
  }

  async exportKey(format, key) {
    const what = "crypto.subtle.exportKey";
    format = String(format);
    if (!formats.includes(format)) throw new TypeError(`${what}: "${format}" is not a key format (${formats.join(", ")})`);
    const k = keyOf(what, key);
    if (!supported.exportKey.includes(k.name)) throw error(`${what}: a ${k.name} key cannot be exported`, "NotSupportedError");
    if (!k.extractable) throw error(`${what}: the key is not extractable`, "InvalidAccessError");
    if (format === "raw") return k.data.slice().buffer;
    if (format === "jwk") {
      return { kty: "oct", k: b64url(k.data), alg: hashes[k.hash].jwk, key_ops: [...k.usages], ext: k.extractable };
    }
    throw error(`${what}: an HMAC key is exported in the raw or jwk format, not ${format}`, "NotSupportedError");
  }

  async generateKey(algorithm, extractable, keyUsages) {
    const what = "crypto.subtle.generateKey";
    const usages = usagesOf(what, keyUsages);
    const alg = normalize(what, algorithm, "generateKey");
    checkUsages(what, usages, ["sign", "verify"]);
    let length = hashes[alg.hash.name].block;
    if (alg.length !== undefined) {
      if (alg.length === 0) throw error(`${what}: the length is 0`, "OperationError");
      length = alg.length;
    }
    const data = new Uint8Array(Math.ceil(length / 8));
    for (let i = 0; i < data.length; i += 65536) native.fillRandom(data.subarray(i, i + 65536));
    if (usages.length === 0) throw error(`${what}: a secret key needs at least one usage`, "SyntaxError");
    return secretKey({ name: "HMAC", hash: { name: alg.hash.name }, length }, Boolean(extractable), usages, data);
  }

  async sign(algorithm, key, data) {
    const what = "crypto.subtle.sign";
    data = bytesOf(data, `${what}: the data`);
    const alg = normalize(what, algorithm, "sign");
    const k = useKey(what, keyOf(what, key), alg, "sign");
    return hmac(hashes[k.hash].hash, k.data, data).slice().buffer;
  }

  async verify(algorithm, key, signature, data) {
    const what = "crypto.subtle.verify";
    signature = bytesOf(signature, `${what}: the signature`);
    data = bytesOf(data, `${what}: the data`);
    const alg = normalize(what, algorithm, "verify");
    const k = useKey(what, keyOf(what, key), alg, "verify");
    const mac = hmac(hashes[k.hash].hash, k.data, data);
    // In constant time: every byte is compared whatever the first
    // difference (the length is no secret).
    if (mac.length !== signature.length) return false;
    let diff = 0;
    for (let i = 0; i < mac.length; i++) diff |= mac[i] ^ signature[i];
    return diff === 0;
  }

  async deriveBits(algorithm, baseKey, length = null) {
    const what = "crypto.subtle.deriveBits";
    const alg = normalize(what, algorithm, "deriveBits");
    if (length !== null) length = unsignedLong(length, `${what}: the length`);
    const k = useKey(what, keyOf(what, baseKey), alg, "deriveBits");
    return deriveBits(what, alg, k, length).slice().buffer;
  }

  async deriveKey(algorithm, baseKey, derivedKeyType, extractable, keyUsages) {
    const what = "crypto.subtle.deriveKey";
    const usages = usagesOf(what, keyUsages);
    const alg = normalize(what, algorithm, "deriveBits");
    const importAlg = normalize(what, derivedKeyType, "importKey");
    const lengthAlg = normalize(what, derivedKeyType, "get key length");
    const k = useKey(what, keyOf(what, baseKey), alg, "deriveKey");
    let length = null; // PBKDF2 and HKDF keys have none
    if (lengthAlg.name === "HMAC") {
      if (lengthAlg.length === 0) throw new TypeError(`${what}: the HMAC key's length is 0`);
      length = lengthAlg.length ?? hashes[lengthAlg.hash.name].block;
    }
    const secret = deriveBits(what, alg, k, length);
    const key = (importAlg.name === "HMAC" ? importHMAC : importKDF)(what, "raw", secret, importAlg, Boolean(extractable), usages);
    if (key.usages.length === 0) throw error(`${what}: a secret key needs at least one usage`, "SyntaxError");
    return key;
  }

  // encrypt, decrypt, wrapKey and unwrapKey know no algorithm: a
  // NotSupportedError.
  async encrypt(algorithm) {
    normalize("crypto.subtle.encrypt", algorithm, "encrypt");
  }
  async decrypt(algorithm) {
    normalize("crypto.subtle.decrypt", algorithm, "decrypt");
  }
  async wrapKey(format, key, wrappingKey, algorithm) {
    normalize("crypto.subtle.wrapKey", algorithm, "wrapKey");
  }
  async unwrapKey(format, wrappedKey, unwrappingKey, algorithm) {
    normalize("crypto.subtle.unwrapKey", algorithm, "unwrapKey");
  }

  get [Symbol.toStringTag]() {
    return "SubtleCrypto";
  }
}

export const subtle = new SubtleCrypto();
