package securemetrics

import "testing"

func TestOptions(t *testing.T) {
	o := Options(":8080", true)
	if o.BindAddress != ":8080" || !o.SecureServing || o.FilterProvider == nil {
		t.Errorf("secure: %+v", o)
	}
	o = Options("0", false)
	if o.BindAddress != "0" || o.SecureServing || o.FilterProvider != nil {
		t.Errorf("plain: %+v", o)
	}
}
