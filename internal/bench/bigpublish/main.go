// Command bigpublish measures the memory a running hookrelay takes under many
// concurrent large publishes (BENCHMARKS.md, "Memory under concurrent large
// publishes"). It starts a receiver on 127.0.0.1, creates an application
// with one endpoint pointing at it, sends -n publishes of -size bytes at
// once, and prints the server's VmHWM and VmRSS (from /proc/PID/status)
// after the burst and every 5 s after it.
//
//	HOOKRELAY_ADMIN_TOKEN=tok hookrelay serve --listen 127.0.0.1:18071 \
//	    --database-url /tmp/x/db --allow-private-cidrs 127.0.0.1/32 &
//	go run ./bench/bigpublish -pid $! -n 500
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:18071", "the server's base URL")
	token := flag.String("token", "tok", "admin token")
	n := flag.Int("n", 500, "concurrent publishes")
	size := flag.Int("size", 1<<20, "bytes of each publish's body")
	pid := flag.Int("pid", 0, "the server's process ID")
	delay := flag.Duration("delay", 0, "how long the receiver takes to answer each delivery")
	retry := flag.Bool("retry", false, "repeat a publish refused with 503 (or whose connection was closed) a second later until accepted")
	watch := flag.Int("watch", 2, "samples 5 s apart after the burst")
	flag.Parse()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	var delivered atomic.Int64
	go func() {
		_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			time.Sleep(*delay)
			delivered.Add(1)
		}))
	}()

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *n}, Timeout: 5 * time.Minute}
	do := func(path string, body []byte) (int, []byte) {
		req, _ := http.NewRequest("POST", *base+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+*token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return -1, []byte(err.Error()) // -1: the connection failed or was closed
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	status, b := do("/api/v1/app", []byte(`{"name":"bigpublish"}`))
	var app struct{ ID string }
	if status != http.StatusCreated || json.Unmarshal(b, &app) != nil {
		log.Fatalf("create application: %d %s", status, b)
	}
	if status, b = do("/api/v1/app/"+app.ID+"/endpoint", []byte(`{"url":"http://`+ln.Addr().String()+`/"}`)); status != http.StatusCreated {
		log.Fatalf("create endpoint: %d %s", status, b)
	}

	head, tail := `{"eventType":"big.event","payload":{"data":"`, `"}}`
	body := []byte(head + strings.Repeat("x", *size-len(head)-len(tail)) + tail)
	statuses := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for range *n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, _ := do("/api/v1/app/"+app.ID+"/msg", body)
			for *retry && (status == http.StatusServiceUnavailable || status == -1) {
				time.Sleep(time.Second)
				status, _ = do("/api/v1/app/"+app.ID+"/msg", body)
			}
			mu.Lock()
			statuses[status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	fmt.Printf("burst: statuses %v in %s; VmHWM %s, VmRSS %s\n", statuses, time.Since(start).Round(time.Millisecond),
		procStatus(*pid, "VmHWM"), procStatus(*pid, "VmRSS"))
	for i := 1; i <= *watch; i++ {
		time.Sleep(5 * time.Second)
		fmt.Printf("+%ds: %d delivered; VmHWM %s, VmRSS %s\n", 5*i, delivered.Load(), procStatus(*pid, "VmHWM"), procStatus(*pid, "VmRSS"))
	}
}

// procStatus reads one field of /proc/PID/status.
func procStatus(pid int, field string) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}
