package proxycmd

import (
	"fmt"
	"io"
	"log/slog"
	"os"

	"golang.org/x/term"

	"github.com/oatkit/oat/internal/redact"
)

// Log formats of serve's --log-format.
const (
	logAuto = "auto" // JSON unless the log goes to a terminal
	logText = "text"
	logJSON = "json"
)

// logFormat is the --log-format flag.
type logFormat string

func (f *logFormat) String() string { return string(*f) }

func (f *logFormat) Set(s string) error {
	switch s {
	case logAuto, logText, logJSON:
		*f = logFormat(s)
		return nil
	}
	return fmt.Errorf("--log-format %q: give auto, text or json", s)
}

// Streams of serve's --log-output.
const (
	logStderr = "stderr"
	logStdout = "stdout" // a container's log collector reads it
)

// logOutput is the --log-output flag.
type logOutput string

func (o *logOutput) String() string { return string(*o) }

func (o *logOutput) Set(s string) error {
	switch s {
	case logStderr, logStdout:
		*o = logOutput(s)
		return nil
	}
	return fmt.Errorf("--log-output %q: give stderr or stdout", s)
}

// newLogger logs to w at level, every value through the redaction package:
// as JSON lines (one object per line, slog's keys time, level, msg) for
// format json, or auto when w is not a terminal (a container's or a
// service's log collector); as text otherwise.
func newLogger(w io.Writer, format logFormat, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if isJSON(w, format) {
		return slog.New(redact.Handler(slog.NewJSONHandler(w, opts)))
	}
	return slog.New(redact.Handler(slog.NewTextHandler(w, opts)))
}

// isJSON reports whether a log written to w in format is JSON lines.
func isJSON(w io.Writer, format logFormat) bool {
	return format == logJSON || (format != logText && !isTerminal(w))
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
