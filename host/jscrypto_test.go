package host_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/wfn-dev/wfn/host"
)

// The JavaScript runtime's crypto.subtle keys (HMAC, PBKDF2, HKDF) and
// CryptoKey, against Node.js's webcrypto and the npm package jose.

// nodeOrSkip finds node, skipping the test without it except under
// CI=true, where it fails.
func nodeOrSkip(t *testing.T, why string) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("node is needed %s: %v", why, err)
		}
		t.Skipf("skipping: node is needed %s: %v", why, err)
	}
}

// nodeGet bundles the function file as edgeBundle does and runs its GET in
// Node.js (testdata/js/oracle/node-get.mjs), returning the body.
func nodeGet(t *testing.T, file, url string) []byte {
	t.Helper()
	bundle := filepath.Join(t.TempDir(), "bundle.js")
	edgeBundle(t, file, bundle)
	script, _ := filepath.Abs("../testdata/js/oracle/node-get.mjs")
	cmd := exec.Command("node", script, bundle, url)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node %s: %v\n%s", filepath.Base(script), err, stderr.String())
	}
	return out
}

// nodeDiffers are the checks of testdata/js/api/web/crypto.ts where
// Node.js 20's webcrypto departs from the Web Cryptography API, with
// wfn's answer, the spec's.
var nodeDiffers = map[string]any{
	// importKey: "If format is jwk and keyData is not a JsonWebKey
	// dictionary, throw a TypeError"; Node takes the bytes for a JWK
	// without kty (DataError).
	"jwk given bytes": "TypeError",
	// exportKey: a key whose algorithm has no export operation is a
	// NotSupportedError before extractable is looked at; Node 20 names
	// its error InvalidAccessException.
	"PBKDF2 export":          "NotSupportedError",
	"export not extractable": "InvalidAccessError",
	// HMAC's export key operation: a format other than raw and jwk is a
	// NotSupportedError; Node says InvalidAccessError.
	"export spki": "NotSupportedError",
	// sign looks at the key's [[usages]] internal slot; Node 20 at the
	// array key.usages returns, which the function can add to.
	"sign a key's usages added to": "InvalidAccessError",
	// Algorithms wfn does not implement are a NotSupportedError, which
	// names those it does; Node has them and finds the HMAC key given
	// the wrong one (InvalidAccessError).
	"ECDSA sign":                   "NotSupportedError",
	"ECDSA says what is supported": true,
	"AES-GCM encrypt":              "NotSupportedError",
	// wfn's message names the hashes digest supports.
	"digest says what is supported": true,
}

func TestJSWebCrypto(t *testing.T) {
	_, srv, _ := serve(t, host.Config{Dir: "../testdata/js"})
	r := get(t, srv.URL+"/api/web/crypto")
	var got map[string]any
	if err := json.Unmarshal([]byte(r.body), &got); r.status != 200 || err != nil {
		t.Fatalf("GET = %d %q: %v", r.status, r.body, err)
	}

	// The MACs Go computes for the same key and message.
	secret, message := []byte("a secret of 32 bytes for HS256!!"), []byte("The quick brown fox")
	mac := hmac.New(sha256.New, secret)
	mac.Write(message)
	if w := hex.EncodeToString(mac.Sum(nil)); got["sign SHA-256"] != w {
		t.Errorf("sign SHA-256 = %v, want %s (Go's crypto/hmac)", got["sign SHA-256"], w)
	}
	if got["verify"] != true || got["verify flipped bit"] != false {
		t.Errorf("verify = %v, with a flipped bit %v", got["verify"], got["verify flipped bit"])
	}
	if w := base64.RawURLEncoding.EncodeToString(secret); !reflect.DeepEqual(got["jwk SHA-256"], map[string]any{"alg": "HS256", "ext": true, "k": w, "key_ops": []any{"sign", "verify"}, "kty": "oct"}) {
		t.Errorf("jwk SHA-256 = %v", got["jwk SHA-256"])
	}

	// The same file in Node.js.
	nodeOrSkip(t, "to compare crypto.subtle with Node's webcrypto")
	var want map[string]any
	out := nodeGet(t, "../testdata/js/api/web/crypto.ts", srv.URL+"/api/web/crypto")
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatalf("node printed %q: %v", out, err)
	}
	for name, w := range nodeDiffers {
		if want[name] == w {
			t.Logf("%s: Node now agrees with the spec (%s)", name, w)
		}
		want[name] = w
	}
	for _, name := range sortedKeys(got, want) {
		if !reflect.DeepEqual(got[name], want[name]) {
			t.Errorf("%s: wfn %v, Node %v", name, got[name], want[name])
		}
	}
}

// sortedKeys lists the keys of a and b, sorted.
func sortedKeys(a, b map[string]any) []string {
	keys := slices.Collect(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// joseFunction signs a JWT with HS256 (fixed claims and times, so the
// token is the same wherever it runs) and verifies it, a tampered copy, one
// signed with another secret and one expired, with jose's errors' codes.
const joseFunction = `import { SignJWT, jwtVerify, decodeProtectedHeader } from "jose";

const secret = new TextEncoder().encode("a-string-secret-at-least-256-bits-long");

async function code(token: string, key: Uint8Array | CryptoKey) {
  try {
    const { payload } = await jwtVerify(token, key, { currentDate: new Date(1800000000 * 1000) });
    return "verified " + payload.sub;
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}

const sign = (exp: number, key: Uint8Array | CryptoKey = secret) =>
  new SignJWT({ sub: "user-1", role: "admin" }).setProtectedHeader({ alg: "HS256", typ: "JWT" }).setIssuedAt(1700000000).setExpirationTime(exp).sign(key);

export async function GET(request: Request) {
  const token = await sign(1900000000);
  const { payload } = await jwtVerify(token, secret, { currentDate: new Date(1800000000 * 1000) });
  const key = await crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
  const sig = token.split(".")[2];
  const tampered = token.slice(0, -sig.length) + (sig[0] === "A" ? "B" : "A") + sig.slice(1);
  return Response.json({
    token,
    header: decodeProtectedHeader(token),
    payload,
    withCryptoKey: await code(await sign(1900000000, key), secret),
    tampered: await code(tampered, secret),
    otherSecret: await code(token, new TextEncoder().encode("another-secret-of-at-least-256-bits")),
    expired: await code(await sign(1750000000), secret),
    given: await code(new URL(request.url).searchParams.get("token") ?? "", key),
  });
}
`

// TestJSJose serves a function that uses the npm package jose to sign and
// verify an HS256 JWT. The token is checked with Go's crypto/hmac, and the
// function's answer is Node.js's for the same file.
func TestJSJose(t *testing.T) {
	nodeOrSkip(t, "to compare jose's answers with Node's")
	dir := t.TempDir()
	npmInstall(t, dir, "jose@6.2.19")
	file := filepath.Join(dir, "api", "jwt.ts")
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(joseFunction), 0o644); err != nil {
		t.Fatal(err)
	}
	_, srv, _ := serve(t, host.Config{Dir: dir})
	out := nodeGet(t, file, srv.URL+"/api/jwt")
	var want map[string]any
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatalf("node printed %q: %v", out, err)
	}
	// wfn verifies the token Node's jose signed.
	token, _ := want["token"].(string)
	r := get(t, srv.URL+"/api/jwt?token="+token)
	var got map[string]any
	if err := json.Unmarshal([]byte(r.body), &got); r.status != 200 || err != nil {
		t.Fatalf("GET = %d %q: %v", r.status, r.body, err)
	}
	want["given"] = "verified user-1"
	if !reflect.DeepEqual(got, want) {
		t.Errorf("wfn answered\n%v\nNode\n%v", got, want)
	}

	// The signature is HMAC-SHA256 of the signing input (RFC 7515,
	// section 5.1), and the payload the claims.
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q", token)
	}
	mac := hmac.New(sha256.New, []byte("a-string-secret-at-least-256-bits-long"))
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if w := base64.RawURLEncoding.EncodeToString(mac.Sum(nil)); parts[2] != w {
		t.Errorf("signature %s, want %s", parts[2], w)
	}
	claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if w := `{"sub":"user-1","role":"admin","iat":1700000000,"exp":1900000000}`; string(claims) != w {
		t.Errorf("claims %s, want %s", claims, w)
	}
	for k, w := range map[string]string{"withCryptoKey": "verified user-1", "tampered": "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
		"otherSecret": "ERR_JWS_SIGNATURE_VERIFICATION_FAILED", "expired": "ERR_JWT_EXPIRED"} {
		if got[k] != w {
			t.Errorf("%s = %v, want %s", k, got[k], w)
		}
	}
}
