package bgp

import (
	"io"
	"net"
	"net/netip"
	"testing"
	"time"
)

// TestCloseSilently: the connection with the address and port is shut
// down (its far end reads the end of the stream, no bytes), a connection
// on another port is left alone.
func TestCloseSilently(t *testing.T) {
	pair := func() (near, far net.Conn, port uint16) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		near, err = net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		far, err = ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { near.Close(); far.Close() })
		return near, far, uint16(ln.Addr().(*net.TCPAddr).Port)
	}
	_, far, port := pair()
	_, otherFar, _ := pair()
	n, err := closeSilently(netip.MustParseAddr("127.0.0.1"), 1, port)
	if err != nil || n != 2 {
		// Both ends of the pair are this process's: each has the port
		// at one end.
		t.Fatalf("closeSilently: %d connections, %v; want 2", n, err)
	}
	_ = far.SetReadDeadline(time.Now().Add(2 * time.Second))
	if b, err := io.ReadAll(far); err != nil || len(b) != 0 {
		t.Errorf("far end read %q, %v; want the end of the stream", b, err)
	}
	_ = otherFar.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := otherFar.Read(make([]byte, 1)); err == nil || err == io.EOF {
		t.Errorf("the connection on another port ended: %v", err)
	}
}
