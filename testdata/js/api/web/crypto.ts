// crypto.subtle's keys with fixed inputs: HMAC (importKey and exportKey
// in the raw and jwk formats, generateKey, sign, verify), PBKDF2 and HKDF
// (deriveBits, deriveKey) and CryptoKey, with the errors the Web
// Cryptography API names. Each check is what its call resolved to, or the
// name of what it rejected with, as JSON. host/jsweb_test.go compares the
// answer with Node.js's webcrypto running this same file.

const enc = new TextEncoder();
const hex = (b: ArrayBuffer) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, "0")).join("");
const secret = enc.encode("a secret of 32 bytes for HS256!!");
const message = enc.encode("The quick brown fox");

const sorted = (o: object) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));

// show renders what a call resolved to: bytes as hex, a key as its
// public fields, an object (a JWK) with its members sorted.
function show(v: unknown): unknown {
  if (v instanceof ArrayBuffer) return hex(v);
  if (v instanceof CryptoKey) {
    const tag = Object.prototype.toString.call(v);
    return `${tag} ${v.type} ${v.extractable} ${JSON.stringify(sorted(v.algorithm))} ${v.usages.join(",")}`;
  }
  if (v !== null && typeof v === "object") return sorted(v);
  return v;
}

async function outcome(f: () => Promise<unknown>): Promise<unknown> {
  try {
    return show(await f());
  } catch (e) {
    return (e as Error).name;
  }
}

const subtle = crypto.subtle;
const hmacKey = (hash: string, usages: KeyUsage[] = ["sign", "verify"], extractable = true, data: Uint8Array = secret) =>
  subtle.importKey("raw", data, { name: "HMAC", hash }, extractable, usages);

export async function GET() {
  const checks: Record<string, () => Promise<unknown>> = {};
  for (const hash of ["SHA-1", "SHA-256", "SHA-384", "SHA-512"]) {
    checks[`key ${hash}`] = () => hmacKey(hash);
    checks[`sign ${hash}`] = async () => subtle.sign("HMAC", await hmacKey(hash), message);
    checks[`raw ${hash}`] = async () => subtle.exportKey("raw", await hmacKey(hash));
    checks[`jwk ${hash}`] = async () => subtle.exportKey("jwk", await hmacKey(hash));
    checks[`jwk round trip ${hash}`] = async () => {
      const jwk = await subtle.exportKey("jwk", await hmacKey(hash));
      const key = await subtle.importKey("jwk", jwk, { name: "HMAC", hash }, false, ["sign"]);
      return subtle.sign({ name: "hmac" }, key, message);
    };
    checks[`generate ${hash}`] = async () => {
      const key = await subtle.generateKey({ name: "HMAC", hash }, true, ["sign", "verify"]);
      const raw = await subtle.exportKey("raw", key);
      const mac = await subtle.sign("HMAC", key, message);
      return `${show(key)} ${raw.byteLength} ${await subtle.verify("HMAC", key, mac, message)}`;
    };
  }
  Object.assign(checks, {
    "verify": async () => subtle.verify("HMAC", await hmacKey("SHA-256"), await subtle.sign("HMAC", await hmacKey("SHA-256"), message), message),
    "verify other message": async () => subtle.verify("HMAC", await hmacKey("SHA-256"), await subtle.sign("HMAC", await hmacKey("SHA-256"), message), enc.encode("the quick brown fox")),
    "verify flipped bit": async () => {
      const mac = new Uint8Array(await subtle.sign("HMAC", await hmacKey("SHA-256"), message));
      mac[31] ^= 1;
      return subtle.verify("HMAC", await hmacKey("SHA-256"), mac, message);
    },
    "verify short": async () => {
      const mac = await subtle.sign("HMAC", await hmacKey("SHA-256"), message);
      return subtle.verify("HMAC", await hmacKey("SHA-256"), mac.slice(0, 16), message);
    },
    "hash object, any case": () => subtle.importKey("raw", secret, { name: "hMaC", hash: { name: "sha-384" } }, true, ["verify"]),
    "length": () => subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256", length: 256 }, true, ["sign"]),
    "length too long": () => subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256", length: 264 }, true, ["sign"]),
    "length a byte short": () => subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256", length: 248 }, true, ["sign"]),
    "empty key": () => hmacKey("SHA-256", ["sign"], true, new Uint8Array(0)),
    "long key": async () => subtle.sign("HMAC", await hmacKey("SHA-256", ["sign"], true, new Uint8Array(200).fill(7)), message),
    "usage encrypt": () => hmacKey("SHA-256", ["encrypt"]),
    "usage deriveBits": () => hmacKey("SHA-256", ["sign", "deriveBits"]),
    "no usages": () => hmacKey("SHA-256", []),
    "usage unknown": () => hmacKey("SHA-256", ["stamp" as KeyUsage]),
    "no hash": () => subtle.importKey("raw", secret, { name: "HMAC" } as HmacImportParams, true, ["sign"]),
    "hash unknown": () => hmacKey("SHA-3"),
    "algorithm unknown": () => subtle.importKey("raw", secret, { name: "HMAC-X", hash: "SHA-256" } as HmacImportParams, true, ["sign"]),
    "format unknown": () => subtle.importKey("pem" as "raw", secret, { name: "HMAC", hash: "SHA-256" }, true, ["sign"]),
    "raw given a JWK": () => subtle.importKey("raw", { kty: "oct", k: "AAAA" } as unknown as Uint8Array, { name: "HMAC", hash: "SHA-256" }, true, ["sign"]),
    "jwk given bytes": () => subtle.importKey("jwk", secret as unknown as JsonWebKey, { name: "HMAC", hash: "SHA-256" }, true, ["sign"]),
    "jwk": async () => subtle.sign("HMAC", await subtle.importKey("jwk", { kty: "oct", k: "c2VjcmV0LWtleQ", alg: "HS256", ext: true, key_ops: ["sign", "verify"] }, { name: "HMAC", hash: "SHA-256" }, true, ["sign"]), message),
    "jwk kty": () => subtle.importKey("jwk", { kty: "RSA", k: "c2VjcmV0LWtleQ" }, { name: "HMAC", hash: "SHA-256" }, true, ["sign"]),
    "jwk no k": () => subtle.importKey("jwk", { kty: "oct" }, { name: "HMAC", hash: "SHA-256" }, true, ["sign"]),
    "jwk alg": () => subtle.importKey("jwk", { kty: "oct", k: "c2VjcmV0LWtleQ", alg: "HS512" }, { name: "HMAC", hash: "SHA-256" }, true, ["sign"]),
    "jwk use": () => subtle.importKey("jwk", { kty: "oct", k: "c2VjcmV0LWtleQ", use: "enc" }, { name: "HMAC", hash: "SHA-256" }, true, ["sign"]),
    "jwk key_ops": () => subtle.importKey("jwk", { kty: "oct", k: "c2VjcmV0LWtleQ", key_ops: ["verify"] }, { name: "HMAC", hash: "SHA-256" }, true, ["sign"]),
    "jwk ext": () => subtle.importKey("jwk", { kty: "oct", k: "c2VjcmV0LWtleQ", ext: false }, { name: "HMAC", hash: "SHA-256" }, true, ["sign"]),
    "jwk ext, not extractable": () => subtle.importKey("jwk", { kty: "oct", k: "c2VjcmV0LWtleQ", ext: false }, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]),
    "RSA": () => subtle.importKey("raw", secret, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, true, ["sign"]),
    "export not extractable": async () => subtle.exportKey("raw", await hmacKey("SHA-256", ["sign"], false)),
    "export spki": async () => subtle.exportKey("spki", await hmacKey("SHA-256")),
    "sign verify-only key": async () => subtle.sign("HMAC", await hmacKey("SHA-256", ["verify"]), message),
    "verify sign-only key": async () => subtle.verify("HMAC", await hmacKey("SHA-256", ["sign"]), new Uint8Array(32), message),
    "sign no key": () => subtle.sign("HMAC", {} as CryptoKey, message),
    "sign a key's usages added to": async () => {
      const key = await hmacKey("SHA-256", ["verify"]);
      key.usages.push("sign");
      return subtle.sign("HMAC", key, message);
    },
    "sign a fake key": () => subtle.sign("HMAC", Object.create(CryptoKey.prototype), message),
    "sign string": async () => subtle.sign("HMAC", await hmacKey("SHA-256"), "text" as unknown as Uint8Array),
    "sign unknown algorithm": async () => subtle.sign("HMAC-SHA256", await hmacKey("SHA-256"), message),
    "generate no usages": () => subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, true, []),
    "generate usage encrypt": () => subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, true, ["encrypt"]),
    "generate length": async () => {
      const key = (await subtle.generateKey({ name: "HMAC", hash: "SHA-256", length: 128 }, true, ["sign"])) as CryptoKey;
      return `${show(key)} ${(await subtle.exportKey("raw", key)).byteLength}`;
    },
    "generate unknown": () => subtle.generateKey({ name: "HMAC-X", hash: "SHA-256" } as HmacKeyGenParams, true, ["sign"]),
    "ECDSA sign": async () => subtle.sign({ name: "ECDSA", hash: "SHA-256" }, await hmacKey("SHA-256"), message),
    "ECDSA says what is supported": async () => {
      try {
        await subtle.sign({ name: "ECDSA", hash: "SHA-256" }, await hmacKey("SHA-256"), message);
      } catch (e) {
        const m = (e as Error).message;
        return m.includes("HMAC") && m.includes("ECDSA");
      }
    },
    "AES-GCM encrypt": async () => subtle.encrypt({ name: "AES-GCM", iv: new Uint8Array(12) }, await hmacKey("SHA-256"), message),
    "digest": () => subtle.digest("sha-256", message),
    "digest unknown": () => subtle.digest("SHA-3", message),
    "digest says what is supported": async () => {
      try {
        await subtle.digest("SHA-3", message);
      } catch (e) {
        const m = (e as Error).message;
        return m.includes("SHA-256") && !m.includes("ECDSA");
      }
    },
    "new CryptoKey": async () => new (CryptoKey as unknown as new () => CryptoKey)(),
  });

  const pbkdf2 = () => subtle.importKey("raw", enc.encode("password"), "PBKDF2", false, ["deriveBits", "deriveKey"]);
  const hkdf = () => subtle.importKey("raw", secret, "HKDF", false, ["deriveBits", "deriveKey"]);
  const salt = enc.encode("salt");
  Object.assign(checks, {
    "PBKDF2 key": pbkdf2,
    "PBKDF2 bits": async () => subtle.deriveBits({ name: "PBKDF2", salt, iterations: 1000, hash: "SHA-256" }, await pbkdf2(), 256),
    "PBKDF2 bits SHA-1": async () => subtle.deriveBits({ name: "PBKDF2", salt, iterations: 2, hash: "SHA-1" }, await pbkdf2(), 160),
    "PBKDF2 bits SHA-512": async () => subtle.deriveBits({ name: "PBKDF2", salt, iterations: 10, hash: "SHA-512" }, await pbkdf2(), 520),
    "PBKDF2 zero iterations": async () => subtle.deriveBits({ name: "PBKDF2", salt, iterations: 0, hash: "SHA-256" }, await pbkdf2(), 256),
    "PBKDF2 odd length": async () => subtle.deriveBits({ name: "PBKDF2", salt, iterations: 1, hash: "SHA-256" }, await pbkdf2(), 12),
    "PBKDF2 extractable": () => subtle.importKey("raw", enc.encode("password"), "PBKDF2", true, ["deriveBits"]),
    "PBKDF2 jwk": () => subtle.importKey("jwk", { kty: "oct", k: "AAAA" }, "PBKDF2", false, ["deriveBits"]),
    "PBKDF2 usage sign": () => subtle.importKey("raw", enc.encode("password"), "PBKDF2", false, ["sign"]),
    "PBKDF2 export": async () => subtle.exportKey("raw", await pbkdf2()),
    "PBKDF2 to HMAC": async () => {
      const key = await subtle.deriveKey({ name: "PBKDF2", salt, iterations: 100, hash: "SHA-256" }, await pbkdf2(), { name: "HMAC", hash: "SHA-384" }, true, ["sign"]);
      return `${show(key)} ${hex(await subtle.exportKey("raw", key))}`;
    },
    "PBKDF2 to HMAC with length": async () => {
      const key = await subtle.deriveKey({ name: "PBKDF2", salt, iterations: 100, hash: "SHA-256" }, await pbkdf2(), { name: "HMAC", hash: "SHA-256", length: 128 }, true, ["verify"]);
      return `${show(key)} ${hex(await subtle.exportKey("raw", key))}`;
    },
    "HKDF key": hkdf,
    "HKDF bits": async () => subtle.deriveBits({ name: "HKDF", salt, info: enc.encode("info"), hash: "SHA-256" }, await hkdf(), 256),
    "HKDF bits empty salt": async () => subtle.deriveBits({ name: "HKDF", salt: new Uint8Array(0), info: new Uint8Array(0), hash: "SHA-512" }, await hkdf(), 1024),
    "HKDF too long": async () => subtle.deriveBits({ name: "HKDF", salt, info: salt, hash: "SHA-256" }, await hkdf(), 255 * 256 + 8),
    "HKDF no info": async () => subtle.deriveBits({ name: "HKDF", salt, hash: "SHA-256" } as HkdfParams, await hkdf(), 256),
    "HKDF to HMAC": async () => {
      const key = await subtle.deriveKey({ name: "HKDF", salt, info: salt, hash: "SHA-1" }, await hkdf(), { name: "HMAC", hash: "SHA-1" }, false, ["sign"]);
      return `${show(key)} ${hex(await subtle.sign("HMAC", key, message))}`;
    },
    "HKDF with a PBKDF2 key": async () => subtle.deriveBits({ name: "HKDF", salt, info: salt, hash: "SHA-256" }, await pbkdf2(), 256),
    "deriveBits with an HMAC key": async () => subtle.deriveBits({ name: "HMAC", hash: "SHA-256" } as unknown as HkdfParams, await hmacKey("SHA-256"), 256),
    "deriveBits without the usage": async () =>
      subtle.deriveBits({ name: "HKDF", salt, info: salt, hash: "SHA-256" }, await subtle.importKey("raw", secret, "HKDF", false, ["deriveKey"]), 256),
  });

  const got: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(checks)) got[name] = await outcome(f);
  return Response.json(got);
}
