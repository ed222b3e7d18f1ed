package lab

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// IPVSAvailable reports why kube-proxy cannot run in ipvs mode here, or
// nil: the kernel's IPVS (/proc/net/ip_vs exists once it is loaded), the
// dummy interface kube-ipvs0 needs, and the ipset program kube-proxy
// checks the version of. What the kernel was built with comes from
// /proc/config.gz when it has one.
func IPVSAvailable() error {
	var problems []string
	if _, err := os.Stat("/proc/net/ip_vs"); err != nil {
		problems = append(problems, "no /proc/net/ip_vs (IPVS not loaded; kernel config: "+kernelConfig("CONFIG_IP_VS")+")")
	}
	if c := kernelConfig("CONFIG_DUMMY"); strings.HasSuffix(c, "is not set") {
		problems = append(problems, "no dummy interfaces for kube-ipvs0 (kernel config: "+c+")")
	}
	if _, err := exec.LookPath("ipset"); err != nil {
		problems = append(problems, "no ipset program (apt-get install -y ipset)")
	}
	if len(problems) == 0 {
		return nil
	}
	return errors.New("IPVS unavailable on this machine: " + strings.Join(problems, "; "))
}

// kernelConfig is the line of /proc/config.gz that sets option
// ("CONFIG_IP_VS=m", "# CONFIG_IP_VS is not set"), or why there is none.
func kernelConfig(option string) string {
	f, err := os.Open("/proc/config.gz")
	if err != nil {
		return "unknown, no /proc/config.gz"
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Sprintf("unknown, /proc/config.gz: %v", err)
	}
	line, err := configLine(z, option)
	if err != nil {
		return fmt.Sprintf("unknown, /proc/config.gz: %v", err)
	}
	return line
}

// configLine finds option's line in a kernel config.
func configLine(r io.Reader, option string) (string, error) {
	s := bufio.NewScanner(r)
	for s.Scan() {
		line := s.Text()
		if strings.HasPrefix(line, option+"=") || line == "# "+option+" is not set" {
			return line, nil
		}
	}
	if err := s.Err(); err != nil {
		return "", err
	}
	return option + " absent", nil
}
