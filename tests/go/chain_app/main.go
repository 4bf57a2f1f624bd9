// chain_app: the Go middle hop of kspan's connected-trace tests
// (tests/integration/test_go_chains.py), built at test time by Debian's
// golang-go.
//
//	chain_app serve ADDR BACKEND [CERT KEY]  an HTTP/1.1 server (https with
//	                                         CERT and KEY) whose handler, for
//	                                         any path ending in /<token>,
//	                                         GETs BACKEND/backend/<token>
//	                                         before it answers; under
//	                                         /spawn/ a goroutine the handler
//	                                         starts makes that call
//
// The backend calls share one keep-alive transport, so net/http's
// connection goroutines (readLoop, writeLoop) serve the requests of many
// handlers in turn. It prints "listening PORT" once it accepts connections.
package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
)

var backend string

var client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}

func call(token string) error {
	resp, err := client.Get(backend + "/backend/" + token)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("backend answered %d", resp.StatusCode)
	}
	return err
}

func handle(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	var err error
	if strings.HasPrefix(r.URL.Path, "/spawn/") {
		done := make(chan error)
		go func() { done <- call(token) }()
		err = <-done
	} else {
		err = call(token)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	io.WriteString(w, "ok "+token+"\n")
}

func main() {
	if len(os.Args) != 4 && len(os.Args) != 6 || os.Args[1] != "serve" {
		fmt.Fprintln(os.Stderr, "usage: chain_app serve ADDR BACKEND [CERT KEY]")
		os.Exit(2)
	}
	backend = os.Args[3]
	ln, err := net.Listen("tcp", os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("listening %d\n", ln.Addr().(*net.TCPAddr).Port)
	srv := &http.Server{Handler: http.HandlerFunc(handle),
		// HTTP/1.1 only: no ALPN h2 on the https server.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){}}
	if len(os.Args) == 6 {
		err = srv.ServeTLS(ln, os.Args[4], os.Args[5])
	} else {
		err = srv.Serve(ln)
	}
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
