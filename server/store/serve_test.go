package store_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/baoshui/baoshui/server/enforcement"
	"github.com/baoshui/baoshui/server/store"
)

// testCA issues certificates for a test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	dir  string
}

func newTestCA(t *testing.T, dir, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ca := &testCA{cert: cert, key: key, dir: dir}
	ca.write(t, name+".pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	return ca
}

func (ca *testCA) write(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(ca.dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// issue writes a certificate and its key for name, for a server (with the
// loopback address) or a client, and returns the certificate file and the
// key file (the client's key file holds both, as the MongoDB driver wants).
func (ca *testCA) issue(t *testing.T, name string, server bool) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
	if server {
		return ca.write(t, name+".pem", certPEM), ca.write(t, name+".key", keyPEM)
	}
	both := ca.write(t, name+".pem", append(certPEM, keyPEM...))
	return both, both
}

// TestServedStore: an instance serves its embedded store over mutual TLS;
// another, with a client certificate of the store's CA, reads and writes
// the same data, and clients without one, or with one of another CA, are
// refused.
func TestServedStore(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for refused connections to time out")
	}
	dir := t.TempDir()
	ca := newTestCA(t, dir, "ca")
	serverCert, serverKey := ca.issue(t, "store", true)
	client, _ := ca.issue(t, "instance-b", false)
	other := newTestCA(t, dir, "other-ca")
	stranger, _ := other.issue(t, "stranger", false)

	ctx := context.Background()
	a, err := store.Open(ctx, store.Config{DataDir: filepath.Join(dir, "data"), Serve: "127.0.0.1:0",
		ServeCert: serverCert, ServeKey: serverKey, ServeCA: filepath.Join(dir, "ca.pem")})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(ctx)
	if a.ServeURI() == "" {
		t.Fatal("no URI for the served store")
	}
	claim := enforcement.SeqClaim{N: 1, First: 1, Size: 1, At: time.Now().UTC().Truncate(time.Millisecond), By: "a",
		Revs: []enforcement.RevRef{{ID: "r1", Rev: 1}}}
	if err := a.InsertSeqClaim(ctx, claim); err != nil {
		t.Fatal(err)
	}

	uri := a.ServeURI() + "&tlsCAFile=" + filepath.Join(dir, "ca.pem") + "&tlsCertificateKeyFile=" + client
	b, err := store.Open(ctx, store.Config{MongoURI: uri})
	if err != nil {
		t.Fatalf("an instance with a client certificate of the CA: %v", err)
	}
	defer b.Close(ctx)
	if got, err := b.GetSeqClaim(ctx, 1); err != nil || got.By != "a" {
		t.Fatalf("b reads a's claim: %+v %v", got, err)
	}
	if err := b.InsertSeqClaim(ctx, enforcement.SeqClaim{N: 2, First: 2, Size: 0, At: time.Now(), By: "b"}); err != nil {
		t.Fatal(err)
	}
	if got, err := a.GetSeqClaim(ctx, 2); err != nil || got.By != "b" {
		t.Fatalf("a reads b's claim: %+v %v", got, err)
	}

	served, err := url.Parse(a.ServeURI())
	if err != nil || served.Host == "" {
		t.Fatalf("served URI %q: %v", a.ServeURI(), err)
	}
	for name, u := range map[string]string{
		"no client certificate":       a.ServeURI() + "&tlsCAFile=" + filepath.Join(dir, "ca.pem"),
		"a certificate of another CA": a.ServeURI() + "&tlsCAFile=" + filepath.Join(dir, "ca.pem") + "&tlsCertificateKeyFile=" + stranger,
		"plain TCP to the TLS port":   "mongodb://" + served.Host + "/",
	} {
		if s, err := store.Open(ctx, store.Config{MongoURI: u}); err == nil {
			s.Close(ctx)
			t.Errorf("%s: connected; want refused", name)
		}
	}
}
