// tls_app: the Go program of kspan's Go crypto/tls tests, built at test
// time by Debian's golang-go (unit tests read its symbols, integration tests
// run it).
//
//	tls_app server ADDR CERT KEY [BACKEND_URL]  https server, HTTP/1.1 only:
//	                                            GET /chain first GETs
//	                                            BACKEND_URL, every other path
//	                                            answers "hello" (under /early/
//	                                            flushed, 30 ms before the
//	                                            handler returns)
//	tls_app server-h2 ADDR CERT KEY             the same, HTTP/2 offered by
//	                                            ALPN (net/http's default)
//	tls_app client URL N [P]                    P goroutines (default 1), each
//	                                            with its own kept-alive
//	                                            HTTP/1.1 connection, N
//	                                            sequential GETs each; with P,
//	                                            goroutine i GETs URL/p<i>/r<j>
//	tls_app client-h2 URL N [P]                 the same over one HTTP/2
//	                                            connection (ALPN h2): P
//	                                            concurrent streams at a time
//	                                            certificates are not verified
//	tls_app idle MS                             sleeps MS ms (a process the
//	                                            tests wait to see probed)
package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

func serve(addr, cert, key, backend string, h2 bool) error {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/early/") {
			io.WriteString(w, "hello")
			return
		}
		// The whole response reaches the client before the handler
		// returns: the client's next request on the connection meets
		// the server's background read of one byte (net/http's
		// connReader.backgroundRead), which a quick handler's end
		// usually cancels first.
		w.Header().Set("Content-Length", "5")
		io.WriteString(w, "hello")
		w.(http.Flusher).Flush()
		time.Sleep(30 * time.Millisecond)
	})
	mux.HandleFunc("/chain", func(w http.ResponseWriter, r *http.Request) {
		resp, err := http.Get(backend)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		io.WriteString(w, "chained")
	})
	srv := &http.Server{Addr: addr, Handler: mux}
	if !h2 {
		// An empty map turns off net/http's HTTP/2 (its documentation).
		srv.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
	}
	fmt.Println("ready")
	return srv.ListenAndServeTLS(cert, key)
}

func get(c *http.Client, url string) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

func transport(h2 bool) *http.Transport {
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	if h2 {
		tr.ForceAttemptHTTP2 = true
	} else {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	return tr
}

// client: with parallel == 0, n GETs of url; else `parallel` goroutines,
// each n GETs of url/p<i>/r<j>, over one connection each (HTTP/1.1) or one
// shared connection (HTTP/2).
func client(url string, n, parallel int, h2 bool) error {
	if parallel == 0 {
		c := &http.Client{Transport: transport(h2)}
		for i := 0; i < n; i++ {
			if err := get(c, url); err != nil {
				return err
			}
		}
		return nil
	}
	shared := &http.Client{Transport: transport(h2)}
	if h2 {
		// One request first, so that every goroutine finds the one
		// connection established rather than dialing its own.
		if err := get(shared, url+"/warmup"); err != nil {
			return err
		}
	}
	errs := make(chan error, parallel)
	var wg sync.WaitGroup
	for p := 0; p < parallel; p++ {
		c := shared
		if !h2 {
			c = &http.Client{Transport: transport(false)}
		}
		wg.Add(1)
		go func(p int, c *http.Client) {
			defer wg.Done()
			for i := 0; i < n; i++ {
				if err := get(c, fmt.Sprintf("%s/p%d/r%d", url, p, i)); err != nil {
					errs <- err
					return
				}
			}
		}(p, c)
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func main() {
	var err error
	switch {
	case len(os.Args) >= 5 && (os.Args[1] == "server" || os.Args[1] == "server-h2"):
		backend := ""
		if len(os.Args) >= 6 {
			backend = os.Args[5]
		}
		err = serve(os.Args[2], os.Args[3], os.Args[4], backend, os.Args[1] == "server-h2")
	case (len(os.Args) == 4 || len(os.Args) == 5) &&
		(os.Args[1] == "client" || os.Args[1] == "client-h2"):
		var n, parallel int
		n, err = strconv.Atoi(os.Args[3])
		if err == nil && len(os.Args) == 5 {
			parallel, err = strconv.Atoi(os.Args[4])
		}
		if err == nil {
			err = client(os.Args[2], n, parallel, os.Args[1] == "client-h2")
		}
	case len(os.Args) == 3 && os.Args[1] == "idle":
		var ms int
		ms, err = strconv.Atoi(os.Args[2])
		time.Sleep(time.Duration(ms) * time.Millisecond)
	default:
		err = fmt.Errorf("usage: tls_app server[-h2] ADDR CERT KEY [BACKEND] | " +
			"client[-h2] URL N [P] | idle MS")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
