package hookrelay

import "strings"

// framingHeaders are set by hookrelay on every webhook request, or frame it.
var framingHeaders = map[string]bool{
	"host": true, "content-length": true, "content-type": true, "user-agent": true,
	"transfer-encoding": true, "connection": true, "te": true, "trailer": true, "upgrade": true,
	"keep-alive": true, "proxy-connection": true,
}

// ReservedHeader reports whether name (in any case) is a header that
// hookrelay sets itself on webhook requests, or that frames the request, or
// that belongs to the signature (webhook-* and svix-*). An endpoint's custom
// headers may not use such a name: the API refuses it, and the sender never
// lets a stored one through.
func ReservedHeader(name string) bool {
	n := strings.ToLower(name)
	return framingHeaders[n] || strings.HasPrefix(n, "webhook-") || strings.HasPrefix(n, "svix-")
}
