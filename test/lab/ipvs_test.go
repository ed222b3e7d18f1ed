package lab

import (
	"strings"
	"testing"
)

func TestConfigLine(t *testing.T) {
	const config = `CONFIG_IP_VS_IPV6=y
CONFIG_IP_VS=m
# CONFIG_DUMMY is not set
CONFIG_DUMMY_CONSOLE=y
`
	for option, want := range map[string]string{
		"CONFIG_IP_VS":  "CONFIG_IP_VS=m",
		"CONFIG_DUMMY":  "# CONFIG_DUMMY is not set",
		"CONFIG_IP_SET": "CONFIG_IP_SET absent",
	} {
		got, err := configLine(strings.NewReader(config), option)
		if err != nil || got != want {
			t.Errorf("configLine(%s) = %q, %v; want %q", option, got, err, want)
		}
	}
}
