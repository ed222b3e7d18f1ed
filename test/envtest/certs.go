package envtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// writeClusterCerts writes into certDir what controller-runtime's envtest
// would generate there (it generates nothing when apiserver.crt exists):
// the serving certificate and key, and the ServiceAccount signing key and
// certificate; it returns the serving CA. Unlike envtest's, the serving
// certificate also names what pods dial: the first address of every
// Service range (the kubernetes Service's ClusterIP, which in-cluster
// clients verify) and kubernetes.default.svc.
func writeClusterCerts(certDir string, bind netip.Addr) ([]byte, error) {
	ips := []net.IP{net.IPv6loopback, net.IPv4(127, 0, 0, 1)}
	if bind.IsValid() {
		ips = append(ips, bind.AsSlice())
	}
	for _, r := range strings.Split(ServiceClusterIPRange, ",") {
		p, err := netip.ParsePrefix(r)
		if err != nil {
			return nil, err
		}
		ips = append(ips, p.Masked().Addr().Next().AsSlice())
	}
	dns := []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}

	caKey, caDER, err := selfSigned(1, "pylon-envtest-ca")
	if err != nil {
		return nil, err
	}
	now := time.Now()
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "kube-apiserver"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(7 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: ips, DNSNames: dns,
	}, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	if err := writeCertKey(certDir, "apiserver", der, key); err != nil {
		return nil, err
	}
	// The ServiceAccount signer: a self-signed certificate and its key,
	// the names envtest passes to --service-account-key-file and
	// --service-account-signing-key-file.
	saKey, saDER, err := selfSigned(3, "service-accounts")
	if err != nil {
		return nil, err
	}
	if err := writeCertKey(certDir, "sa-signer", saDER, saKey); err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), nil
}

// selfSigned makes a P-256 key and a self-signed CA certificate for it,
// valid from an hour ago for a week.
func selfSigned(serial int64, cn string) (*ecdsa.PrivateKey, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	return key, der, err
}

// writeCertKey writes dir/name.crt and dir/name.key in PEM.
func writeCertKey(dir, name string, der []byte, key *ecdsa.PrivateKey) error {
	k, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("%s key: %w", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o640); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name+".key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k}), 0o600)
}
