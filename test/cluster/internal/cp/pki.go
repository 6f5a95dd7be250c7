package cp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// keyPair is a certificate with its private key.
type keyPair struct {
	Cert    *x509.Certificate
	Key     *ecdsa.PrivateKey
	CertPEM []byte
	KeyPEM  []byte
}

func newKey() (*ecdsa.PrivateKey, []byte, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return nil, nil, err
	}
	return k, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return n.Add(n, big.NewInt(1))
}

// newCA creates a self-signed CA.
func newCA(cn string) (*keyPair, error) {
	key, keyPEM, err := newKey()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &keyPair{Cert: c, Key: key, CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), KeyPEM: keyPEM}, nil
}

// sign issues a leaf certificate from ca.
func (ca *keyPair) sign(cn string, orgs []string, dns []string, ips []net.IP, server bool) (*keyPair, error) {
	key, keyPEM, err := newKey()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	usage := []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	if server {
		usage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: cn, Organization: orgs},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(5 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  usage,
		DNSNames:     dns,
		IPAddresses:  ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, err
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &keyPair{Cert: c, Key: key, CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), KeyPEM: keyPEM}, nil
}

func randomToken() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// PKI holds the file locations of everything the control plane needs.
type PKI struct {
	Dir          string
	CACert       string // serving CA (also signs kubelet-ish things); DIR/ca.crt
	CAKey        string
	ServingCert  string
	ServingKey   string
	ClientCACert string
	ClientCAKey  string
	AdminCert    string
	AdminKey     string
	SAKey        string
	TokenFile    string
	AdminToken   string
	KCMToken     string
	CAPEM        []byte
	AdminCertPEM []byte
	AdminKeyPEM  []byte
}

// GeneratePKI writes a CA, an apiserver serving certificate, a client CA with an
// admin client certificate (O=system:masters), a service-account signing key and
// a static token file into dir/pki (and the public bits into dir).
func GeneratePKI(dir string) (*PKI, error) {
	pdir := filepath.Join(dir, "pki")
	if err := os.MkdirAll(pdir, 0o700); err != nil {
		return nil, err
	}
	p := &PKI{Dir: pdir}
	ca, err := newCA("kcp-ca")
	if err != nil {
		return nil, err
	}
	serving, err := ca.sign("kube-apiserver", nil,
		[]string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		[]net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.96.0.1")}, true)
	if err != nil {
		return nil, err
	}
	clientCA, err := newCA("kcp-client-ca")
	if err != nil {
		return nil, err
	}
	admin, err := clientCA.sign("kcp-admin", []string{"system:masters"}, nil, nil, false)
	if err != nil {
		return nil, err
	}
	_, saPEM, err := newKey()
	if err != nil {
		return nil, err
	}
	p.AdminToken = randomToken()
	p.KCMToken = randomToken()
	files := []struct {
		path *string
		name string
		data []byte
		mode os.FileMode
	}{
		{&p.CACert, filepath.Join(dir, "ca.crt"), ca.CertPEM, 0o644},
		{&p.CAKey, filepath.Join(pdir, "ca.key"), ca.KeyPEM, 0o600},
		{&p.ServingCert, filepath.Join(pdir, "apiserver.crt"), serving.CertPEM, 0o644},
		{&p.ServingKey, filepath.Join(pdir, "apiserver.key"), serving.KeyPEM, 0o600},
		{&p.ClientCACert, filepath.Join(pdir, "client-ca.crt"), clientCA.CertPEM, 0o644},
		{&p.ClientCAKey, filepath.Join(pdir, "client-ca.key"), clientCA.KeyPEM, 0o600},
		{&p.AdminCert, filepath.Join(dir, "admin.crt"), admin.CertPEM, 0o644},
		{&p.AdminKey, filepath.Join(dir, "admin.key"), admin.KeyPEM, 0o600},
		{&p.SAKey, filepath.Join(pdir, "sa.key"), saPEM, 0o600},
		{&p.TokenFile, filepath.Join(pdir, "tokens.csv"), []byte(fmt.Sprintf(
			"%s,kcp-admin,kcp-admin-uid,\"system:masters\"\n%s,system:kube-controller-manager,kcp-kcm-uid,\n",
			p.AdminToken, p.KCMToken)), 0o600},
	}
	for _, f := range files {
		if err := os.WriteFile(f.name, f.data, f.mode); err != nil {
			return nil, err
		}
		*f.path = f.name
	}
	if err := os.WriteFile(filepath.Join(dir, "admin-token"), []byte(p.AdminToken+"\n"), 0o600); err != nil {
		return nil, err
	}
	p.CAPEM = ca.CertPEM
	p.AdminCertPEM = admin.CertPEM
	p.AdminKeyPEM = admin.KeyPEM
	return p, nil
}
