// A resource service in Go, the standard library and golang-jwt (Debian's golang-go and
// golang-github-golang-jwt-jwt-dev): GO111MODULE=off GOPATH=/usr/share/gocode go run examples/resource_service.go
// It verifies the identity server's access tokens with the published JWKS (RFC 9068 checks) and
// follows its revocation stream (the README's rules), so a logout there is a 401 here at once,
// with no call per request. IDENTITY_URL, ISSUER, CLIENT_ID, CLIENT_SECRET, PORT (3005), MAX_STALENESS (5).
package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt"
)

func env(name, fallback string) string {
	if value := os.Getenv(name); value != "" {
		return value
	}
	return fallback
}

var (
	identity     = env("IDENTITY_URL", "http://127.0.0.1:3000")
	issuer       = env("ISSUER", identity)
	staleness, _ = strconv.ParseFloat(env("MAX_STALENESS", "5"), 64)
	mu           sync.Mutex
	keys         = map[string]interface{}{}            // the JWKS's public keys by kid: never an HMAC secret
	revoked      = map[string]map[string]interface{}{} // "kind:value" -> entry
	current      bool                                  // caught up since the last connection
	heard        time.Time                             // when the stream last spoke
)

func b64(text string) []byte { bytes, _ := base64.RawURLEncoding.DecodeString(text); return bytes }

// fetchKeys reads the JWKS: at start, and for a kid it does not know (a key published since).
func fetchKeys() error {
	response, err := http.Get(identity + "/.well-known/jwks.json")
	if err != nil {
		return err
	}
	defer response.Body.Close()
	var set struct{ Keys []map[string]string }
	if err := json.NewDecoder(response.Body).Decode(&set); err != nil {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	for _, jwk := range set.Keys {
		switch jwk["kty"] {
		case "OKP":
			keys[jwk["kid"]] = ed25519.PublicKey(b64(jwk["x"]))
		case "EC":
			keys[jwk["kid"]] = &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(b64(jwk["x"])), Y: new(big.Int).SetBytes(b64(jwk["y"]))}
		case "RSA":
			keys[jwk["kid"]] = &rsa.PublicKey{N: new(big.Int).SetBytes(b64(jwk["n"])), E: int(new(big.Int).SetBytes(b64(jwk["e"])).Int64())}
		}
	}
	return nil
}

func keyOf(token *jwt.Token) (interface{}, error) {
	if token.Header["typ"] != "at+jwt" {
		return nil, fmt.Errorf("not an access token")
	}
	kid, _ := token.Header["kid"].(string)
	mu.Lock()
	key, known := keys[kid]
	mu.Unlock()
	if !known {
		if err := fetchKeys(); err != nil {
			return nil, err
		}
		mu.Lock()
		key, known = keys[kid]
		mu.Unlock()
	}
	if !known {
		return nil, fmt.Errorf("unknown key")
	}
	return key, nil
}

func isRevoked(claims jwt.MapClaims, kid string) bool {
	mu.Lock()
	defer mu.Unlock()
	now := float64(time.Now().UnixMilli())
	for _, kind := range []string{"jti", "sid", "kid", "sub"} {
		value := fmt.Sprint(claims[kind])
		if kind == "kid" {
			value = kid
		}
		entry := revoked[kind+":"+value]
		if entry == nil || entry["expires_at"].(float64) <= now {
			continue
		}
		// sub: the subject's tokens issued before revoked_before (iat in seconds, the entry in ms)
		if kind != "sub" || claims["iat"].(float64)*1000 < entry["revoked_before"].(float64) {
			return true
		}
	}
	return false
}

func add(entry map[string]interface{}) {
	mu.Lock()
	defer mu.Unlock()
	key := fmt.Sprint(entry["kind"], ":", entry["value"])
	if old := revoked[key]; old != nil { // the strictest of an entry seen twice
		for _, field := range []string{"expires_at", "revoked_before"} {
			a, hadIt := old[field].(float64)
			b, hasIt := entry[field].(float64)
			if hadIt && hasIt && a > b {
				entry[field] = a
			}
		}
	}
	revoked[key] = entry
}

// follow reads the stream for ever: the entries in force, then each new one; heartbeats make the copy current.
func follow() {
	lastID := ""
	for {
		ctx, cancel := context.WithCancel(context.Background())
		request, _ := http.NewRequestWithContext(ctx, "GET", identity+"/revocations/stream", nil)
		request.SetBasicAuth(os.Getenv("CLIENT_ID"), os.Getenv("CLIENT_SECRET"))
		request.Header.Set("accept", "text/event-stream")
		if lastID != "" {
			request.Header.Set("last-event-id", lastID)
		}
		mu.Lock()
		heard = time.Now()
		mu.Unlock()
		go func() { // a stream silent for 3 s (six heartbeats: a stall, not a close) is given up
			for ctx.Err() == nil {
				time.Sleep(500 * time.Millisecond)
				mu.Lock()
				silent := time.Since(heard) > 3*time.Second
				mu.Unlock()
				if silent {
					cancel()
				}
			}
		}()
		if response, err := http.DefaultClient.Do(request); err != nil {
			fmt.Fprintln(os.Stderr, "revocation stream:", err)
		} else if response.StatusCode != 200 {
			fmt.Fprintln(os.Stderr, "revocation stream: answered", response.StatusCode)
			response.Body.Close()
		} else {
			event, id, data := "", "", []string{}
			scanner := bufio.NewScanner(response.Body)
			for scanner.Scan() {
				line := scanner.Text()
				mu.Lock()
				heard = time.Now()
				if strings.HasPrefix(line, ":") { // a heartbeat: whatever came before it is in
					current = true
				}
				mu.Unlock()
				switch {
				case strings.HasPrefix(line, ":"):
				case line == "": // the end of an event
					var entry map[string]interface{}
					if event == "revocation" && json.Unmarshal([]byte(strings.Join(data, "\n")), &entry) == nil {
						add(entry)
					}
					if id != "" {
						lastID = id
					}
					event, id, data = "", "", []string{}
				default:
					field, value, _ := strings.Cut(line, ":")
					value = strings.TrimPrefix(value, " ")
					switch field {
					case "event":
						event = value
					case "data":
						data = append(data, value)
					case "id":
						id = value
					}
				}
			}
			response.Body.Close()
		}
		cancel()
		mu.Lock()
		current = false
		mu.Unlock()
		time.Sleep(time.Second)
	}
}

func answer(w http.ResponseWriter, status int, body map[string]interface{}) {
	w.Header().Set("content-type", "application/json")
	if status == 401 {
		w.Header().Set("www-authenticate", `Bearer error="invalid_token"`)
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

func orders(w http.ResponseWriter, r *http.Request) {
	parser := jwt.Parser{ValidMethods: []string{"EdDSA", "ES256", "RS256"}}
	token, err := parser.Parse(strings.TrimPrefix(r.Header.Get("authorization"), "Bearer "), keyOf)
	if err != nil {
		answer(w, 401, map[string]interface{}{"code": "token_invalid", "detail": err.Error()})
		return
	}
	claims := token.Claims.(jwt.MapClaims) // exp, nbf and iat are checked by Parse
	for _, name := range []string{"exp", "iat", "sub", "jti", "client_id"} {
		if claims[name] == nil {
			answer(w, 401, map[string]interface{}{"code": "token_invalid", "detail": "no " + name})
			return
		}
	}
	if !claims.VerifyIssuer(issuer, true) || !claims.VerifyAudience(issuer, true) {
		answer(w, 401, map[string]interface{}{"code": "token_invalid", "detail": "wrong issuer or audience"})
		return
	}
	if claims["cnf"] != nil { // bound to a client's key (DPoP): this service checks no proofs, so never a bearer token
		answer(w, 401, map[string]interface{}{"code": "token_invalid", "detail": "DPoP-bound token"})
		return
	}
	mu.Lock()
	stale := !current || time.Since(heard).Seconds() > staleness
	mu.Unlock()
	if stale { // the copy may be missing revocations: refuse, never accept blindly
		answer(w, 503, map[string]interface{}{"code": "store_unavailable"})
		return
	}
	if isRevoked(claims, token.Header["kid"].(string)) {
		answer(w, 401, map[string]interface{}{"code": "token_revoked"})
		return
	}
	name := claims["name"]
	if name == nil {
		name = claims["sub"]
	}
	answer(w, 200, map[string]interface{}{"for": name, "orders": []map[string]interface{}{{"id": 1, "item": "book"}}})
}

func main() {
	if err := fetchKeys(); err != nil {
		fmt.Fprintln(os.Stderr, "jwks:", err)
		os.Exit(1)
	}
	go follow()
	listener, err := net.Listen("tcp", "127.0.0.1:"+env("PORT", "3005"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	http.HandleFunc("/orders", orders)
	fmt.Printf("orders service (Go) listening on http://%s\n", listener.Addr())
	fmt.Fprintln(os.Stderr, http.Serve(listener, nil))
}
