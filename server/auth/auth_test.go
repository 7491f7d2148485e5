package auth

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
)

func TestHashPassword(t *testing.T) {
	h, err := HashPassword("correct horse battery staple")
	if err != nil {
		t.Fatalf("HashPassword: %v", err)
	}
	phc := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !phc.MatchString(h) {
		t.Errorf("hash %q is not a PHC argon2id string with the OWASP parameters, 16-byte salt and 32-byte key", h)
	}
	if !strings.HasPrefix(h, "$argon2id$") {
		t.Errorf("hash %q lacks the $argon2id$ prefix", h)
	}
	if strings.Contains(h, "correct horse") {
		t.Errorf("hash contains the password")
	}
	h2, err := HashPassword("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if h == h2 {
		t.Errorf("two hashes of the same password are equal: the salt is not random")
	}

	cases := []struct {
		name     string
		hash     string
		password string
		want     bool
	}{
		{"right password", h, "correct horse battery staple", true},
		{"right password, second hash", h2, "correct horse battery staple", true},
		{"wrong password", h, "correct horse battery stapler", false},
		{"empty password", h, "", false},
		{"password differing in case", h, "Correct horse battery staple", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := CheckPassword(c.hash, c.password); got != c.want {
				t.Errorf("CheckPassword = %v, want %v", got, c.want)
			}
		})
	}
	t.Run("empty password hashes and checks", func(t *testing.T) {
		e, err := HashPassword("")
		if err != nil {
			t.Fatal(err)
		}
		if !CheckPassword(e, "") || CheckPassword(e, " ") {
			t.Error("empty password does not round trip")
		}
	})
}

// phcHash builds a PHC argon2id string with explicit parameters, the way
// another argon2id implementation (or an older parameter choice) stores it.
func phcHash(password string, salt []byte, m, tm uint32, p uint8, keyLen uint32) string {
	key := argon2.IDKey([]byte(password), salt, tm, m, p, keyLen)
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", m, tm, p,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// TestCheckPasswordParameters: the parameters are read from the hash, so
// hashes made with other settings keep working.
func TestCheckPasswordParameters(t *testing.T) {
	salt := []byte("0123456789abcdef")
	cases := []struct {
		name    string
		m, tm   uint32
		p       uint8
		keyLen  uint32
		wantErr bool
	}{
		{"small memory, one pass", 64, 1, 1, 32, false},
		{"two lanes", 256, 3, 2, 32, false},
		{"16-byte key", 1024, 2, 1, 16, false},
		{"64-byte key", 1024, 2, 1, 64, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := phcHash("s3cret", salt, c.m, c.tm, c.p, c.keyLen)
			if !CheckPassword(h, "s3cret") {
				t.Errorf("CheckPassword(%s) = false for the right password", h)
			}
			if CheckPassword(h, "s3cret!") {
				t.Errorf("CheckPassword(%s) = true for a wrong password", h)
			}
		})
	}
}

func TestCheckPasswordMalformed(t *testing.T) {
	good, err := HashPassword("pw")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$") // "", argon2id, v=19, m=..., salt, key
	join := func(p ...string) string { return strings.Join(p, "$") }
	salt := []byte("0123456789abcdef")
	cases := []struct {
		name string
		hash string
	}{
		{"empty", ""},
		{"plain text", "pw"},
		{"only the prefix", "$argon2id$"},
		{"argon2i, not argon2id", join("", "argon2i", parts[2], parts[3], parts[4], parts[5])},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"missing key", join("", "argon2id", parts[2], parts[3], parts[4])},
		{"empty key", join("", "argon2id", parts[2], parts[3], parts[4], "")},
		{"extra part", good + "$extra"},
		{"salt not base64", join("", "argon2id", parts[2], parts[3], "!!!!", parts[5])},
		{"key not base64", join("", "argon2id", parts[2], parts[3], parts[4], "@@@@")},
		{"key padded base64", join("", "argon2id", parts[2], parts[3], parts[4], parts[5]+"=")},
		{"params garbage", join("", "argon2id", parts[2], "m=lots", parts[4], parts[5])},
		{"params missing", join("", "argon2id", parts[2], "", parts[4], parts[5])},
		{"memory above 1 GiB", join("", "argon2id", parts[2], "m=1048577,t=2,p=1", parts[4], parts[5])},
		{"eleven passes", join("", "argon2id", parts[2], "m=19456,t=11,p=1", parts[4], parts[5])},
		{"zero lanes", join("", "argon2id", parts[2], "m=19456,t=2,p=0", parts[4], parts[5])},
		{"256 lanes", join("", "argon2id", parts[2], "m=19456,t=2,p=256", parts[4], parts[5])},
		{"negative memory", join("", "argon2id", parts[2], "m=-1,t=2,p=1", parts[4], parts[5])},
		{"right key, other parameters", join("", "argon2id", parts[2], "m=19456,t=3,p=1", parts[4], parts[5])},
		{"right key, other salt", join("", "argon2id", parts[2], parts[3], base64.RawStdEncoding.EncodeToString(salt), parts[5])},
		{"key with a byte changed", changeKey(phcHash("pw", salt, 64, 1, 1, 32))},
		{"zero passes", join("", "argon2id", parts[2], "m=19456,t=0,p=1", parts[4], parts[5])},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got bool
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("CheckPassword(%q) panicked: %v", c.hash, r)
					}
				}()
				got = CheckPassword(c.hash, "pw")
			}()
			if got {
				t.Errorf("CheckPassword(%q, pw) = true", c.hash)
			}
		})
	}
}

// changeKey changes one character in the middle of a PHC hash's key.
func changeKey(h string) string {
	i := strings.LastIndex(h, "$") + 10
	b := []byte(h)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

var testKey = []byte("0123456789abcdef0123456789abcdef") // 32 bytes

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTestSigner(t *testing.T, key []byte, ttl time.Duration) (*Signer, *clock) {
	t.Helper()
	s, err := NewSigner(key, ttl)
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	c := &clock{t: time.Date(2020, 7, 4, 8, 0, 0, 500_000_000, time.UTC)}
	s.now = c.now
	return s, c
}

func TestNewSignerKeyLength(t *testing.T) {
	cases := []struct {
		name string
		key  []byte
		ok   bool
	}{
		{"nil", nil, false},
		{"empty", []byte{}, false},
		{"31 bytes", bytes.Repeat([]byte{1}, 31), false},
		{"32 bytes", bytes.Repeat([]byte{1}, 32), true},
		{"64 bytes", bytes.Repeat([]byte{1}, 64), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := NewSigner(c.key, time.Hour)
			if c.ok != (err == nil) || c.ok != (s != nil) {
				t.Errorf("NewSigner(%d bytes) = %v, %v", len(c.key), s, err)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "auth: ") {
				t.Errorf("error %q does not name the package", err)
			}
		})
	}
}

func TestSignerRoundTrip(t *testing.T) {
	s, c := newTestSigner(t, testKey, 15*time.Minute)
	if s.TTL() != 15*time.Minute {
		t.Errorf("TTL() = %v", s.TTL())
	}
	for _, p := range []Principal{
		{Username: "alice", Role: RoleOfficer, Unit: "town-a"},
		{Username: "王芳", Role: RoleSupervisor, Unit: "镇-a"},
		{Username: "root", Role: RoleAdmin},
		{Username: "station-7", Role: RoleDevice, Unit: "district"},
	} {
		t.Run(string(p.Role), func(t *testing.T) {
			tok, exp := s.Issue(p)
			if want := c.t.Add(15 * time.Minute).Truncate(time.Second); !exp.Equal(want) {
				t.Errorf("expiry = %v, want %v", exp, want)
			}
			if strings.Count(tok, ".") != 1 || strings.ContainsAny(tok, "+/= ") {
				t.Errorf("token %q is not base64url.base64url", tok)
			}
			got, err := s.Verify(tok)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got != p {
				t.Errorf("Verify = %+v, want %+v", got, p)
			}
			// Another Signer with the same key verifies it too.
			other, _ := newTestSigner(t, bytes.Clone(testKey), time.Minute)
			if got, err := other.Verify(tok); err != nil || got != p {
				t.Errorf("other instance: %+v, %v", got, err)
			}
		})
	}
}

func TestSignerExpiry(t *testing.T) {
	s, c := newTestSigner(t, testKey, time.Minute)
	p := Principal{Username: "alice", Role: RoleOfficer, Unit: "town-a"}
	start := c.t
	tok, exp := s.Issue(p)
	cases := []struct {
		name string
		at   time.Time
		want error
	}{
		{"just issued", start, nil},
		{"one second before expiry", exp.Add(-time.Second), nil},
		{"one nanosecond before expiry", exp.Add(-time.Nanosecond), nil},
		{"at expiry", exp, ErrTokenExpired},
		{"an hour later", start.Add(time.Hour), ErrTokenExpired},
		{"a year later", start.AddDate(1, 0, 0), ErrTokenExpired},
	}
	for _, cc := range cases {
		t.Run(cc.name, func(t *testing.T) {
			c.t = cc.at
			_, err := s.Verify(tok)
			if !errors.Is(err, cc.want) {
				t.Errorf("Verify at %v = %v, want %v", cc.at, err, cc.want)
			}
		})
	}
	t.Run("zero ttl", func(t *testing.T) {
		z, _ := newTestSigner(t, testKey, 0)
		tok, _ := z.Issue(p)
		if _, err := z.Verify(tok); !errors.Is(err, ErrTokenExpired) {
			t.Errorf("token of a zero ttl: %v, want ErrTokenExpired", err)
		}
	})
	t.Run("real clock, short ttl", func(t *testing.T) {
		r, err := NewSigner(testKey, 1100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		tok, exp := r.Issue(p)
		if _, err := r.Verify(tok); err != nil && time.Now().Before(exp) {
			t.Fatalf("fresh token: %v", err)
		}
		time.Sleep(time.Until(exp) + 10*time.Millisecond)
		if _, err := r.Verify(tok); !errors.Is(err, ErrTokenExpired) {
			t.Errorf("after expiry: %v, want ErrTokenExpired", err)
		}
	})
}

func TestSignerRejects(t *testing.T) {
	s, _ := newTestSigner(t, testKey, time.Hour)
	p := Principal{Username: "alice", Role: RoleOfficer, Unit: "town-a"}
	tok, _ := s.Issue(p)
	payload, sig, _ := strings.Cut(tok, ".")

	// A payload granting more, re-encoded, under the old signature.
	body, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	m["role"] = "office"
	forged, _ := json.Marshal(m)
	forgedPayload := base64.RawURLEncoding.EncodeToString(forged)

	otherKey := bytes.Repeat([]byte{7}, 32)
	other, _ := newTestSigner(t, otherKey, time.Hour)
	otherTok, _ := other.Issue(p)

	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	// signed builds a token whose signature is right for any payload, to
	// reach the checks after the signature.
	signed := func(payload string) string { return payload + "." + s.sign(payload) }
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	exp := fmt.Sprint(time.Date(2020, 7, 4, 9, 0, 0, 0, time.UTC).Unix())

	cases := []struct {
		name  string
		token string
	}{
		{"payload with a role raised", forgedPayload + "." + sig},
		{"payload with one character changed", flip(payload, 5) + "." + sig},
		{"signature with first character changed", payload + "." + flip(sig, 0)},
		{"signature with last character changed", payload + "." + flip(sig, len(sig)-1)},
		{"signature truncated", payload + "." + sig[:len(sig)-1]},
		{"signature missing", payload + "."},
		{"no dot", payload + sig},
		{"extra part", tok + ".x"},
		{"signed with another key", otherTok},
		{"empty", ""},
		{"dot", "."},
		{"garbage", "not a token"},
		{"bearer prefix left in", "Bearer " + tok},
		{"whitespace around", " " + tok + " "},
		{"payload padded base64", payload + "=." + sig},
		{"signed, payload not base64", signed("***")},
		{"signed, payload not JSON", signed(b64("hello"))},
		{"signed, payload a JSON array", signed(b64(`[1,2]`))},
		{"signed, unknown role", signed(b64(`{"sub":"alice","role":"root","unit":"x","exp":` + exp + `}`))},
		{"signed, no role", signed(b64(`{"sub":"alice","unit":"x","exp":` + exp + `}`))},
		{"signed, empty username", signed(b64(`{"sub":"","role":"officer","unit":"x","exp":` + exp + `}`))},
		{"signed, no expiry", signed(b64(`{"sub":"alice","role":"officer","unit":"x"}`))},
		{"signed, expiry a string", signed(b64(`{"sub":"alice","role":"officer","unit":"x","exp":"never"}`))},
		{"signed, over 4096 bytes", signed(b64(`{"sub":"alice","role":"officer","unit":"` + strings.Repeat("x", 4000) + `","exp":` + exp + `}`))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := s.Verify(c.token)
			if err == nil {
				t.Fatalf("Verify(%q) accepted it as %+v", c.token, got)
			}
			if !errors.Is(err, ErrTokenInvalid) && !errors.Is(err, ErrTokenExpired) {
				t.Errorf("Verify error %v is neither ErrTokenInvalid nor ErrTokenExpired", err)
			}
			if got != (Principal{}) {
				t.Errorf("Verify returned a principal with its error: %+v", got)
			}
		})
	}
	// The forged tokens are invalid, not merely expired.
	for _, tk := range []string{forgedPayload + "." + sig, otherTok, "garbage"} {
		if _, err := s.Verify(tk); !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("Verify(%q) = %v, want ErrTokenInvalid", tk, err)
		}
	}
	// Sanity: the untouched token still verifies, so the cases above fail for
	// the change they make.
	if _, err := s.Verify(tok); err != nil {
		t.Fatalf("untouched token: %v", err)
	}
	if _, err := s.Verify(signed(b64(`{"sub":"alice","role":"officer","unit":"x","exp":` + exp + `}`))); err != nil {
		t.Fatalf("well-formed signed payload: %v", err)
	}
}

func TestRefreshToken(t *testing.T) {
	seenTok := map[string]bool{}
	seenID := map[string]bool{}
	for i := range 200 {
		tok, id := NewRefreshToken()
		if seenTok[tok] || seenID[id] {
			t.Fatalf("token %d repeats: %q", i, tok)
		}
		seenTok[tok], seenID[id] = true, true
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || len(raw) != 32 {
			t.Fatalf("token %q is not 32 random bytes in base64url: %v", tok, err)
		}
		sum := sha256.Sum256([]byte(tok))
		if want := hex.EncodeToString(sum[:]); id != want || RefreshID(tok) != want {
			t.Fatalf("id = %q, RefreshID = %q, want sha256 hex %q", id, RefreshID(tok), want)
		}
		if strings.Contains(id, tok) {
			t.Fatalf("id contains the token")
		}
	}
	// RefreshID of a known value.
	if got, want := RefreshID("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Errorf("RefreshID(abc) = %s, want %s", got, want)
	}
}

func TestRoleValid(t *testing.T) {
	for _, r := range []Role{"officer", "supervisor", "office", "admin", "device"} {
		if !r.Valid() {
			t.Errorf("%q not valid", r)
		}
	}
	for _, r := range []Role{"", "root", "Officer", "officer "} {
		if r.Valid() {
			t.Errorf("%q valid", r)
		}
	}
	if len(Roles) != 5 {
		t.Errorf("Roles = %v, want the five roles", Roles)
	}
}
