package delivery_test

import (
	"fmt"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestMemoryPerRequestInFlight measures what a request in flight costs the
// node: n endpoints each get one request to a listener that accepts and
// never answers (it keeps the connections and reads nothing, so it costs
// next to nothing itself), and the live heap and the stacks in use grow by the
// sending goroutines, their connections and buffers, the held deliveries
// and the dispatcher's state. The figure sizes the default of
// Config.Workers (see WorkersFor): it must stay small.
func TestMemoryPerRequestInFlight(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 500 connections")
	}
	if raceEnabled {
		t.Skip("the race detector multiplies memory and time")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	accepted := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(conns)
	}

	const n = 500
	f := newFixture(t)
	for i := range n {
		f.endpoint(fmt.Sprintf("http://%s/ep/%d", ln.Addr(), i), nil)
	}
	cfg := baseConfig(f.st)
	cfg.Timeout = time.Minute
	cfg.ShutdownGrace = 100 * time.Millisecond
	d, _ := startDispatcher(t, cfg)
	inUse := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc + m.StackInuse
	}
	time.Sleep(200 * time.Millisecond) // the dispatcher's first claim and heartbeat
	before := inUse()
	f.publish("", `{"type":"bench.tick","pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}`)
	d.Wake()
	waitFor(t, 30*time.Second, fmt.Sprintf("%d requests in flight", n), func() bool {
		return d.Stats().InFlight == n && accepted() == n
	})
	time.Sleep(100 * time.Millisecond) // let the last requests be written
	after := inUse()
	per := (int64(after) - int64(before)) / n
	t.Logf("%d requests in flight: live heap and stacks %d KiB → %d KiB, %d bytes per request", n, before>>10, after>>10, per)
	if per > 64<<10 {
		t.Fatalf("%d bytes per request in flight, want at most 64 KiB", per)
	}
}
