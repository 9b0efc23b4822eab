// Command proxy sits between S3 clients and the store: it delays every request by a set
// round trip (half before forwarding, half before answering) and counts requests and
// stored objects per bucket. The Host header goes through unchanged (SigV4 signs it), so
// path-style (`/bucket/key`) and virtual-host-style (`bucket.localhost`) requests both work.
//
//	proxy -listen 127.0.0.1:17071 -target 127.0.0.1:17070 -control 127.0.0.1:17072
//
// Control API: GET /stats (JSON per bucket), POST /delay?ms=20, POST /reset.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Counts of one bucket. Objects are successful PUTs of whole objects plus completed
// multipart uploads; LastStoredNs is when the latest of them was answered.
type Counts struct {
	Requests     int64 `json:"requests"`
	Put          int64 `json:"put"`
	CreateMPU    int64 `json:"create_multipart"`
	Part         int64 `json:"part"`
	Complete     int64 `json:"complete"`
	Read         int64 `json:"read"` // GET, HEAD (lists included)
	Other        int64 `json:"other"`
	Errors       int64 `json:"errors"` // answers with status >= 300
	Objects      int64 `json:"objects"`
	LastStoredNs int64 `json:"last_stored_unix_ns"`
}

type stats struct {
	mu      sync.Mutex
	buckets map[string]*Counts
}

func (s *stats) record(bucket, op string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.buckets[bucket]
	if c == nil {
		c = &Counts{}
		s.buckets[bucket] = c
	}
	c.Requests++
	switch op {
	case "put":
		c.Put++
	case "create":
		c.CreateMPU++
	case "part":
		c.Part++
	case "complete":
		c.Complete++
	case "read":
		c.Read++
	default:
		c.Other++
	}
	if status >= 300 {
		c.Errors++
	} else if op == "put" || op == "complete" {
		c.Objects++
		c.LastStoredNs = time.Now().UnixNano()
	}
}

// bucketOf: `bucket.localhost[:port]` (virtual host) or the first path segment.
func bucketOf(r *http.Request) string {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if b, ok := strings.CutSuffix(host, ".localhost"); ok && b != "" {
		return b
	}
	b, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	return b
}

func opOf(r *http.Request) string {
	q := r.URL.Query()
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return "read"
	case http.MethodPut:
		if q.Has("partNumber") {
			return "part"
		}
		return "put"
	case http.MethodPost:
		if q.Has("uploads") {
			return "create"
		}
		if q.Has("uploadId") {
			return "complete"
		}
	}
	return "other"
}

type statusKey struct{}

func main() {
	listen := flag.String("listen", "127.0.0.1:17071", "address S3 clients connect to")
	target := flag.String("target", "127.0.0.1:17070", "address of the S3 store")
	control := flag.String("control", "127.0.0.1:17072", "address of the control API")
	delayMs := flag.Float64("delay", 0, "round trip added to every request, ms")
	flag.Parse()

	var delay atomic.Int64 // ns
	delay.Store(int64(*delayMs * 1e6))
	st := &stats{buckets: map[string]*Counts{}}

	upstream := &url.URL{Scheme: "http", Host: *target}
	proxy := httputil.NewSingleHostReverseProxy(upstream) // keeps the client's Host header
	proxy.Transport = &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	proxy.ErrorLog = log.New(log.Writer(), "proxy: ", 0)
	proxy.ModifyResponse = func(resp *http.Response) error {
		if p, ok := resp.Request.Context().Value(statusKey{}).(*int); ok {
			*p = resp.StatusCode
		}
		time.Sleep(time.Duration(delay.Load() / 2)) // the answer's half of the round trip
		return nil
	}

	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bucket, op := bucketOf(r), opOf(r)
		time.Sleep(time.Duration(delay.Load() / 2)) // the request's half
		status := http.StatusBadGateway
		r = r.WithContext(context.WithValue(r.Context(), statusKey{}, &status))
		proxy.ServeHTTP(w, r)
		st.record(bucket, op, status)
	})

	ctl := http.NewServeMux()
	ctl.HandleFunc("/stats", func(w http.ResponseWriter, _ *http.Request) {
		st.mu.Lock()
		body, _ := json.Marshal(st.buckets)
		st.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	ctl.HandleFunc("/reset", func(w http.ResponseWriter, _ *http.Request) {
		st.mu.Lock()
		st.buckets = map[string]*Counts{}
		st.mu.Unlock()
	})
	ctl.HandleFunc("/delay", func(w http.ResponseWriter, r *http.Request) {
		ms, err := strconv.ParseFloat(r.URL.Query().Get("ms"), 64)
		if err != nil || ms < 0 {
			http.Error(w, "ms=<non-negative number>", http.StatusBadRequest)
			return
		}
		delay.Store(int64(ms * 1e6))
	})
	go func() { log.Fatal(http.ListenAndServe(*control, ctl)) }()
	log.Printf("proxy %s -> %s, control %s, delay %.1f ms", *listen, *target, *control, *delayMs)
	log.Fatal((&http.Server{Addr: *listen, Handler: handler}).ListenAndServe())
}
