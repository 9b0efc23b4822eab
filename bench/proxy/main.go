// Command proxy puts a distance between S3 clients and the store: every request waits half
// the round trip before it is forwarded and the other half before its answer goes back.
// The Host header goes through unchanged (SigV4 signs it), so path-style (`/bucket/key`) and
// virtual-host-style (`bucket.localhost`) requests both work.
//
//	proxy -listen 127.0.0.1:17071 -target 127.0.0.1:17070 -control 127.0.0.1:17072 [-delay MS]
//
// POST http://<control>/delay?ms=20 sets the round trip while it runs.
package main

import (
	"flag"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:17071", "address S3 clients connect to")
	target := flag.String("target", "127.0.0.1:17070", "address of the S3 store")
	control := flag.String("control", "127.0.0.1:17072", "address of the control API")
	delayMs := flag.Float64("delay", 0, "round trip added to every request, ms")
	flag.Parse()

	var half atomic.Int64 // ns
	half.Store(int64(*delayMs * 1e6 / 2))
	wait := func() { time.Sleep(time.Duration(half.Load())) }

	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: *target}) // keeps Host
	proxy.Transport = &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	proxy.ModifyResponse = func(*http.Response) error { wait(); return nil }
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wait()
		proxy.ServeHTTP(w, r)
	})

	ctl := http.NewServeMux()
	ctl.HandleFunc("/delay", func(w http.ResponseWriter, r *http.Request) {
		ms, err := strconv.ParseFloat(r.URL.Query().Get("ms"), 64)
		if err != nil || ms < 0 {
			http.Error(w, "ms=<non-negative number>", http.StatusBadRequest)
			return
		}
		half.Store(int64(ms * 1e6 / 2))
	})
	go func() { log.Fatal(http.ListenAndServe(*control, ctl)) }()
	log.Printf("proxy %s -> %s, control %s, round trip %.1f ms", *listen, *target, *control, *delayMs)
	log.Fatal((&http.Server{Addr: *listen, Handler: handler}).ListenAndServe())
}
