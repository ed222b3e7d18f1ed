package main

import "testing"

func TestParseArgs(t *testing.T) {
	tests := []struct {
		args    []string
		want    options
		wantErr bool
	}{
		{[]string{"up"}, options{command: "up", nodes: 3}, false},
		{[]string{"up", "-nodes", "5", "-node-asn", "64512"}, options{command: "up", nodes: 5, nodeASN: 64512}, false},
		{[]string{"up", "-node-stack"}, options{command: "up", nodes: 3, nodeStack: true}, false},
		{[]string{"demo", "-node-stack"}, options{}, true},
		{[]string{"status"}, options{command: "status"}, false},
		{[]string{"down"}, options{command: "down"}, false},
		{[]string{"demo"}, options{command: "demo"}, false},
		{[]string{"demo", "-keep"}, options{command: "demo", keep: true}, false},
		{[]string{"demo", "-nodes", "5"}, options{}, true},
		{[]string{"up", "-keep"}, options{}, true},
		{nil, options{}, true},
		{[]string{"sideways"}, options{}, true},
		{[]string{"up", "-nodes", "0"}, options{}, true},
		{[]string{"up", "-nodes", "51"}, options{}, true},
		{[]string{"up", "-node-asn", "4294967296"}, options{}, true},
		{[]string{"down", "-nodes", "2"}, options{}, true},
		{[]string{"status", "extra"}, options{}, true},
	}
	for _, tc := range tests {
		got, err := parseArgs(tc.args)
		if (err != nil) != tc.wantErr {
			t.Errorf("parseArgs(%q): error %v, want error %v", tc.args, err, tc.wantErr)
			continue
		}
		if err == nil && got != tc.want {
			t.Errorf("parseArgs(%q) = %+v, want %+v", tc.args, got, tc.want)
		}
	}
}
