package dnscache_test

import (
	"context"
	"net"
	"net/netip"
	"testing"

	"github.com/hookrelay/hookrelay/internal/dnscache"
	"github.com/hookrelay/hookrelay/internal/dnstest"
)

// BenchmarkLookup resolves one host name as a dial does (A and AAAA, Go's
// resolver; the name has one IPv4 address and no IPv6 one), from a DNS server on loopback in this process, uncached and
// through the cache (kept answer). cpu-ns/op is the whole process's CPU
// time, the server's share included when it is asked; on a real network
// the cache also saves the round trip to the name server, which loopback
// does not show.
func BenchmarkLookup(b *testing.B) {
	srv := dnstest.Start(b)
	srv.Set("bench.hooks.test", dnstest.Name{Addrs: []netip.Addr{addr1}, TTL: 3600, NegativeTTL: 3600})
	for _, bb := range []struct {
		name string
		r    *net.Resolver
	}{
		{"uncached", srv.Resolver()},
		{"cached", dnscache.New(dnscache.Config{Dial: srv.Dial}).Resolver()},
	} {
		b.Run(bb.name, func(b *testing.B) {
			ctx := context.Background()
			if _, err := bb.r.LookupNetIP(ctx, "ip", "bench.hooks.test"); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			cpu := processCPU()
			b.ResetTimer()
			for b.Loop() {
				addrs, err := bb.r.LookupNetIP(ctx, "ip", "bench.hooks.test")
				if err != nil || len(addrs) != 1 {
					b.Fatalf("lookup: %v, %v", addrs, err)
				}
			}
			b.StopTimer()
			if cpu >= 0 {
				b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
			}
		})
	}
}
