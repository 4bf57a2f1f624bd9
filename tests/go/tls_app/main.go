// tls_app: the Go program of kspan's Go crypto/tls tests, built at test
// time by Debian's golang-go (unit tests read its symbols, integration tests
// run it).
//
//	tls_app server ADDR CERT KEY [BACKEND_URL]  https server; GET /hello
//	                                            answers "hello", GET /chain
//	                                            first GETs BACKEND_URL
//	tls_app client URL N                        N sequential GETs of URL over
//	                                            one kept-alive connection,
//	                                            certificate not verified
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
	"time"
)

func serve(addr, cert, key, backend string) error {
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
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
	srv := &http.Server{Addr: addr, Handler: mux,
		// HTTP/1.1 only: the test counts HTTP/1 spans.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){}}
	fmt.Println("ready")
	return srv.ListenAndServeTLS(cert, key)
}

func client(url string, n int) error {
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
		ForceAttemptHTTP2: false,
		TLSNextProto:      map[string]func(string, *tls.Conn) http.RoundTripper{},
	}
	c := &http.Client{Transport: tr}
	for i := 0; i < n; i++ {
		resp, err := c.Get(url)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
	}
	return nil
}

func main() {
	var err error
	switch {
	case len(os.Args) >= 5 && os.Args[1] == "server":
		backend := ""
		if len(os.Args) >= 6 {
			backend = os.Args[5]
		}
		err = serve(os.Args[2], os.Args[3], os.Args[4], backend)
	case len(os.Args) == 4 && os.Args[1] == "client":
		var n int
		n, err = strconv.Atoi(os.Args[3])
		if err == nil {
			err = client(os.Args[2], n)
		}
	case len(os.Args) == 3 && os.Args[1] == "idle":
		var ms int
		ms, err = strconv.Atoi(os.Args[2])
		time.Sleep(time.Duration(ms) * time.Millisecond)
	default:
		err = fmt.Errorf("usage: tls_app server ADDR CERT KEY [BACKEND] | client URL N | idle MS")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
