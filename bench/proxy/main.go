// Command proxy stands between S3 clients and the store. The benchmark (bench/) uses it to put
// a distance between them: every request waits half the round trip before it is forwarded and
// the other half before its answer goes back. The fault tests (tests/faults/) use it to make the
// store misbehave the way real ones do: throttle with 503 SlowDown, drop connections in the
// middle of an upload, go away and come back. It counts requests by kind, so a test can see
// how a client reacted.
//
// The Host header goes through unchanged (SigV4 signs it), so path-style (`/bucket/key`) and
// virtual-host-style (`bucket.localhost`) requests both work.
//
//	proxy -listen 127.0.0.1:17071 -target 127.0.0.1:17070 -control 127.0.0.1:17072 [-delay MS] [-seed N]
//
// Control API on -control (POST; every setting holds until changed):
//
//	/delay?ms=20[&kinds=PutObject,UploadPart]  round trip added to requests of those kinds (default all)
//	/slowdown?fraction=0.3                     answer that fraction of PutObject and UploadPart
//	                                           requests with S3's 503 SlowDown error
//	/reset?fraction=0.5                        reset the connection halfway through the body of that
//	                                           fraction of UploadPart requests, evenly spread (not at
//	                                           random: with 0.3 the 4th, 7th, 10th, ... from now on)
//	/down, /up                                 stop listening and drop every connection (the store is
//	                                           down: connections are refused), listen again
//	/clear                                     no delay, no faults, counts back to zero (the listener
//	                                           stays as it is)
//	GET /counts                                JSON: requests by kind, answers by kind and status,
//	                                           faults injected, requests in flight now and the most
//	                                           in flight since the previous GET /counts
//
// Kinds: PutObject, UploadPart, CreateMultipartUpload, CompleteMultipartUpload,
// AbortMultipartUpload, ListMultipartUploads, ListParts, GetObject, HeadObject, DeleteObject,
// ListObjects, Other.
package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:17071", "address S3 clients connect to")
	target := flag.String("target", "127.0.0.1:17070", "address of the S3 store")
	control := flag.String("control", "127.0.0.1:17072", "address of the control API")
	delayMs := flag.Float64("delay", 0, "round trip added to every request, ms")
	seed := flag.Uint64("seed", 0, "seed of the fault choices (0: a random one)")
	flag.Parse()

	if *seed == 0 {
		*seed = mrand.Uint64()
	}
	p := newProxy(*target, *seed)
	p.faults.delay = time.Duration(*delayMs * 1e6)
	front := &front{addr: *listen, handler: p}
	if err := front.up(); err != nil {
		log.Fatal(err)
	}
	log.Printf("proxy %s -> %s, control %s, round trip %.1f ms, seed %d", *listen, *target, *control, *delayMs, *seed)
	log.Fatal(http.ListenAndServe(*control, p.controlAPI(front)))
}

// faults is what the proxy does to requests besides forwarding them.
type faults struct {
	delay      time.Duration   // round trip added
	delayKinds map[string]bool // kinds the delay applies to; empty: all
	slowdown   float64         // fraction of PutObject and UploadPart answered 503 SlowDown
	reset      float64         // fraction of UploadPart whose connection is reset mid-body
}

func (f faults) delayOf(kind string) time.Duration {
	if len(f.delayKinds) > 0 && !f.delayKinds[kind] {
		return 0
	}
	return f.delay
}

type proxy struct {
	forward *httputil.ReverseProxy

	mu       sync.Mutex
	faults   faults
	rnd      *mrand.Rand
	requests map[string]int64 // by kind
	answers  map[string]int64 // by "kind status"
	injected map[string]int64 // by fault
	inflight int64
	peak     int64 // most in flight since the last GET /counts
	parts    int64 // UploadPart requests since /reset was set
}

func newProxy(target string, seed uint64) *proxy {
	p := &proxy{
		rnd:      mrand.New(mrand.NewPCG(seed, seed>>1|1)),
		requests: map[string]int64{},
		answers:  map[string]int64{},
		injected: map[string]int64{},
	}
	forward := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: target}) // keeps Host
	forward.Transport = &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	forward.ModifyResponse = func(resp *http.Response) error {
		kind := kindOf(resp.Request)
		p.count(p.answers, fmt.Sprintf("%s %d", kind, resp.StatusCode))
		time.Sleep(p.settings().delayOf(kind) / 2)
		return nil
	}
	forward.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		p.count(p.answers, kindOf(r)+" 502")
		log.Printf("%s %s: store unreachable: %v", r.Method, r.URL.Path, err)
		w.WriteHeader(http.StatusBadGateway)
	}
	p.forward = forward
	return p
}

func (p *proxy) settings() faults {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.faults
}

func (p *proxy) count(counter map[string]int64, key string) {
	p.mu.Lock()
	counter[key]++
	p.mu.Unlock()
}

// chance is true for `fraction` of the calls, at random.
func (p *proxy) chance(fraction float64) bool {
	if fraction <= 0 {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rnd.Float64() < fraction
}

// resetDue is true for an evenly spread `fraction` of the UploadParts, so that a case with only a
// dozen of them still sees its share of resets; at random, 0.3 of 12 is none once in 70 runs.
func (p *proxy) resetDue(fraction float64) bool {
	if fraction <= 0 {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	before := math.Floor(float64(p.parts) * fraction)
	p.parts++
	return math.Floor(float64(p.parts)*fraction) > before
}

func (p *proxy) enter() {
	p.mu.Lock()
	p.inflight++
	p.peak = max(p.peak, p.inflight)
	p.mu.Unlock()
}

func (p *proxy) leave() {
	p.mu.Lock()
	p.inflight--
	p.mu.Unlock()
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	kind := kindOf(r)
	p.count(p.requests, kind)
	p.enter()
	defer p.leave()
	f := p.settings()
	time.Sleep(f.delayOf(kind) / 2)
	switch {
	case (kind == "PutObject" || kind == "UploadPart") && p.chance(f.slowdown):
		p.count(p.injected, "slowdown")
		slowDown(w, r)
	case kind == "UploadPart" && p.resetDue(f.reset):
		p.count(p.injected, "reset")
		resetMidBody(w, r)
	default:
		p.forward.ServeHTTP(w, r)
	}
}

// kindOf names the S3 operation of a request from its method and query, as S3's API
// reference tells them apart.
func kindOf(r *http.Request) string {
	q := r.URL.Query()
	has := func(name string) bool { _, ok := q[name]; return ok }
	// "/bucket" or "/" (path style) lists; "/bucket/key" names an object.
	object := strings.Count(strings.Trim(r.URL.Path, "/"), "/") >= 1
	switch r.Method {
	case http.MethodPut:
		switch {
		case has("partNumber") && has("uploadId"):
			return "UploadPart"
		case object:
			return "PutObject"
		}
	case http.MethodPost:
		switch {
		case has("uploads"):
			return "CreateMultipartUpload"
		case has("uploadId"):
			return "CompleteMultipartUpload"
		}
	case http.MethodDelete:
		switch {
		case has("uploadId"):
			return "AbortMultipartUpload"
		case object:
			return "DeleteObject"
		}
	case http.MethodGet:
		switch {
		case has("uploads"):
			return "ListMultipartUploads"
		case has("uploadId"):
			return "ListParts"
		case object:
			return "GetObject"
		default:
			return "ListObjects"
		}
	case http.MethodHead:
		if object {
			return "HeadObject"
		}
	}
	return "Other"
}

// slowDown answers as S3 does when a prefix gets more requests than it takes. The body is
// read first, so the connection stays usable, as it does with S3.
func slowDown(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	id := requestID()
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("x-amz-request-id", id)
	w.WriteHeader(http.StatusServiceUnavailable)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
		`<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message>`+
		`<Resource>%s</Resource><RequestId>%s</RequestId></Error>`, r.URL.Path, id)
}

// resetMidBody reads half the body, then closes the connection with an RST (SO_LINGER 0), as
// a failing load balancer or a dropped network path does: the client sees a reset while it
// sends, or right after.
func resetMidBody(w http.ResponseWriter, r *http.Request) {
	half := r.ContentLength / 2
	if half <= 0 {
		half = 64 << 10
	}
	_, _ = io.CopyN(io.Discard, r.Body, half)
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		log.Printf("cannot take over the connection to reset it: %v", err)
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}

func requestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b))
}

// front is the listener S3 clients connect to; down closes it and every connection.
type front struct {
	addr    string
	handler http.Handler
	mu      sync.Mutex
	server  *http.Server
}

func (f *front) up() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.server != nil {
		return nil
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return err
	}
	server := &http.Server{Handler: f.handler}
	go func() {
		if err := server.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Printf("serving %s: %v", f.addr, err)
		}
	}()
	f.server = server
	return nil
}

func (f *front) down() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.server == nil {
		return nil
	}
	err := f.server.Close() // listener and connections, also those in the middle of a request
	f.server = nil
	return err
}

func (p *proxy) controlAPI(front *front) http.Handler {
	fraction := func(r *http.Request) (float64, error) {
		v, err := strconv.ParseFloat(r.URL.Query().Get("fraction"), 64)
		if err != nil || v < 0 || v > 1 {
			return 0, errors.New("fraction=<number from 0 to 1>")
		}
		return v, nil
	}
	set := func(parse func(r *http.Request, f *faults) error) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			p.mu.Lock()
			next := p.faults
			err := parse(r, &next)
			if err == nil {
				p.faults = next
			}
			p.mu.Unlock()
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
			}
		}
	}
	ctl := http.NewServeMux()
	ctl.HandleFunc("/delay", set(func(r *http.Request, f *faults) error {
		ms, err := strconv.ParseFloat(r.URL.Query().Get("ms"), 64)
		if err != nil || ms < 0 {
			return errors.New("ms=<non-negative number>")
		}
		f.delay = time.Duration(ms * 1e6)
		f.delayKinds = map[string]bool{}
		for _, kind := range strings.Split(r.URL.Query().Get("kinds"), ",") {
			if kind != "" {
				f.delayKinds[kind] = true
			}
		}
		return nil
	}))
	ctl.HandleFunc("/slowdown", set(func(r *http.Request, f *faults) (err error) {
		f.slowdown, err = fraction(r)
		return err
	}))
	ctl.HandleFunc("/reset", set(func(r *http.Request, f *faults) (err error) {
		f.reset, err = fraction(r)
		p.parts = 0 // under p.mu, taken by set
		return err
	}))
	ctl.HandleFunc("/clear", func(w http.ResponseWriter, _ *http.Request) {
		p.mu.Lock()
		p.faults = faults{}
		p.parts = 0
		p.requests, p.answers, p.injected = map[string]int64{}, map[string]int64{}, map[string]int64{}
		p.peak = p.inflight
		p.mu.Unlock()
	})
	ctl.HandleFunc("/down", func(w http.ResponseWriter, _ *http.Request) {
		if err := front.down(); err != nil {
			log.Printf("closing %s: %v", front.addr, err)
		}
	})
	ctl.HandleFunc("/up", func(w http.ResponseWriter, _ *http.Request) {
		if err := front.up(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	ctl.HandleFunc("/counts", func(w http.ResponseWriter, _ *http.Request) {
		p.mu.Lock()
		body, err := json.Marshal(map[string]any{
			"requests": p.requests, "answers": p.answers, "injected": p.injected,
			"inflight": p.inflight, "peak_inflight": p.peak,
		})
		p.peak = p.inflight
		p.mu.Unlock()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	return ctl
}
