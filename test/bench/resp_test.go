package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
)

// respClient is the least a Go program does to read a value from Redis: a
// pool of connections, one command written and its reply read per call (the
// RESP protocol). The benchmark prices a shared cache with it rather than
// with a client module, which would add its own costs (go-redis allocates a
// command object and its arguments per call): what it measures is the floor
// of a Redis read, which favours Redis. Only GET and SET, for the benchmark.
type respClient struct {
	conns chan *respConn
}

type respConn struct {
	c net.Conn
	r *bufio.Reader
	w *bufio.Writer
}

func dialRESP(addr string, size int) (*respClient, error) {
	p := &respClient{conns: make(chan *respConn, size)}
	for range size {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			p.Close()
			return nil, err
		}
		p.conns <- &respConn{c: c, r: bufio.NewReader(c), w: bufio.NewWriter(c)}
	}
	return p, nil
}

func (p *respClient) Close() {
	for {
		select {
		case c := <-p.conns:
			c.c.Close()
		default:
			return
		}
	}
}

var errNil = errors.New("redis: no such key")

// Get returns key's value; errNil when there is none.
func (p *respClient) Get(ctx context.Context, key string) ([]byte, error) {
	return p.do(ctx, "GET", key)
}

// Set stores value under key, with no expiry.
func (p *respClient) Set(ctx context.Context, key string, value []byte) error {
	_, err := p.do(ctx, "SET", key, string(value))
	return err
}

func (p *respClient) do(ctx context.Context, args ...string) ([]byte, error) {
	var c *respConn
	select {
	case c = <-p.conns:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	v, err := c.do(args)
	if err != nil && err != errNil {
		c.c.Close() // the stream's state is unknown: a broken benchmark
		return nil, err
	}
	p.conns <- c
	return v, err
}

func (c *respConn) do(args []string) ([]byte, error) {
	fmt.Fprintf(c.w, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(c.w, "$%d\r\n%s\r\n", len(a), a)
	}
	if err := c.w.Flush(); err != nil {
		return nil, err
	}
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return nil, err
	}
	if len(line) < 3 {
		return nil, fmt.Errorf("redis: short reply %q", line)
	}
	switch line[0] {
	case '+': // SET's OK
		return nil, nil
	case '-':
		return nil, fmt.Errorf("redis: %s", line[1:len(line)-2])
	case '$':
		n, err := strconv.Atoi(string(line[1 : len(line)-2]))
		if err != nil {
			return nil, fmt.Errorf("redis: bad length %q", line)
		}
		if n < 0 {
			return nil, errNil
		}
		v := make([]byte, n+2)
		if _, err := io.ReadFull(c.r, v); err != nil {
			return nil, err
		}
		return v[:n], nil
	}
	return nil, fmt.Errorf("redis: unexpected reply %q", line)
}
