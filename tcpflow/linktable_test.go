package tcpflow

import (
	"testing"

	"github.com/nfsstall/nfsstall/capture"
)

// TestLinkTableAgrees: the decoder knows a first layer for exactly the
// link types capture's table marks supported.
func TestLinkTableAgrees(t *testing.T) {
	for lt := range 1 << 16 {
		_, ok := firstLayer(capture.LinkType(lt))
		if ok != capture.LinkTypeSupported(capture.LinkType(lt)) {
			t.Errorf("link type %d (%s): decoder %v, table %v", lt, capture.LinkTypeName(capture.LinkType(lt)), ok, !ok)
		}
	}
}
