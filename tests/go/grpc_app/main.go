// grpc_app: grpc-go over TLS for kspan's Go crypto/tls tests, built at test
// time by Debian's golang-go in GOPATH mode against Debian's
// golang-google-grpc-dev (/usr/share/gocode): no module download. It uses
// the health service that grpc-go ships, so that no code is generated.
//
//	grpc_app server ADDR CERT KEY   gRPC server over TLS (h2 by ALPN): the
//	                                health service, "known" SERVING, any
//	                                other service name NOT_FOUND
//	grpc_app client ADDR N P        P goroutines on one connection, N unary
//	                                Health/Check calls each; call i of
//	                                goroutine p asks for "known" when p+i is
//	                                even (OK) and for another name when odd
//	                                (NOT_FOUND); certificate not verified
//	grpc_app idle MS                sleeps MS ms
package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

func serve(addr, cert, key string) error {
	creds, err := credentials.NewServerTLSFromFile(cert, key)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s := grpc.NewServer(grpc.Creds(creds))
	h := health.NewServer()
	h.SetServingStatus("known", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(s, h)
	fmt.Println("ready")
	return s.Serve(l)
}

func client(addr string, n, parallel int) error {
	creds := credentials.NewTLS(&tls.Config{InsecureSkipVerify: true})
	conn, err := grpc.Dial(addr, grpc.WithTransportCredentials(creds), grpc.WithBlock())
	if err != nil {
		return err
	}
	defer conn.Close()
	c := healthpb.NewHealthClient(conn)
	errs := make(chan error, parallel)
	var wg sync.WaitGroup
	for p := 0; p < parallel; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			for i := 0; i < n; i++ {
				name, want := "known", codes.OK
				if (p+i)%2 == 1 {
					name, want = fmt.Sprintf("unknown-%d-%d", p, i), codes.NotFound
				}
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				_, err := c.Check(ctx, &healthpb.HealthCheckRequest{Service: name})
				cancel()
				if status.Code(err) != want {
					errs <- fmt.Errorf("call %d/%d: %v, want %v", p, i, err, want)
					return
				}
			}
		}(p)
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func main() {
	var err error
	switch {
	case len(os.Args) == 5 && os.Args[1] == "server":
		err = serve(os.Args[2], os.Args[3], os.Args[4])
	case len(os.Args) == 5 && os.Args[1] == "client":
		var n, parallel int
		n, err = strconv.Atoi(os.Args[3])
		if err == nil {
			parallel, err = strconv.Atoi(os.Args[4])
		}
		if err == nil {
			err = client(os.Args[2], n, parallel)
		}
	case len(os.Args) == 3 && os.Args[1] == "idle":
		var ms int
		ms, err = strconv.Atoi(os.Args[2])
		time.Sleep(time.Duration(ms) * time.Millisecond)
	default:
		err = fmt.Errorf("usage: grpc_app server ADDR CERT KEY | client ADDR N P | idle MS")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
