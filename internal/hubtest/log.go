package hubtest

import (
	"context"
	"net/http"
	"time"
)

// entryKey is the context key of a request's log entry.
type entryKey struct{}

// logged records every request the hub answers, with its status.
func (h *Hub) logged(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e := &Request{Time: time.Now(), Host: r.Host, Method: r.Method, Path: r.URL.Path}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), entryKey{}, e)))
		e.Status = sw.status
		h.mu.Lock()
		h.requests = append(h.requests, *e)
		h.mu.Unlock()
	})
}

// requestEntry is the log entry of r, for handlers to fill in.
func requestEntry(r *http.Request) *Request {
	if e, ok := r.Context().Value(entryKey{}).(*Request); ok {
		return e
	}
	return &Request{}
}

// statusWriter remembers the status of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

// WriteHeader remembers the first status written.
func (s *statusWriter) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

// Write writes body bytes; a response without WriteHeader is a 200.
func (s *statusWriter) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

// Flush sends buffered data to the client, when the connection can.
func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		s.wrote = true
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
