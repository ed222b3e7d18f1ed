package envtest

import (
	"crypto/tls"
	"crypto/x509"
	"net/netip"
	"path/filepath"
	"testing"
)

// TestClusterCertsNameWhatPodsDial: the serving certificate verifies
// against the returned CA for the kubernetes Service's ClusterIP of each
// family, kubernetes.default.svc, loopback and the bind address, and not
// for another address; the ServiceAccount signer's pair loads.
func TestClusterCertsNameWhatPodsDial(t *testing.T) {
	dir := t.TempDir()
	bind := netip.MustParseAddr("198.18.0.1")
	ca, err := writeClusterCerts(dir, bind)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		t.Fatal("no CA certificate returned")
	}
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, "apiserver.crt"), filepath.Join(dir, "apiserver.key"))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"198.19.192.1", "2001:db8:ffff::1", "kubernetes.default.svc", "localhost", "127.0.0.1", bind.String()} {
		if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: name}); err != nil {
			t.Errorf("serving certificate for %s: %v", name, err)
		}
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: "198.19.192.2"}); err == nil {
		t.Error("serving certificate verifies for 198.19.192.2, an address it should not name")
	}
	if _, err := tls.LoadX509KeyPair(filepath.Join(dir, "sa-signer.crt"), filepath.Join(dir, "sa-signer.key")); err != nil {
		t.Errorf("ServiceAccount signer: %v", err)
	}
}
