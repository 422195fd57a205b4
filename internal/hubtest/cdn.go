package hubtest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	storagemiddleware "github.com/distribution/distribution/v3/registry/storage/driver/middleware"
)

// cdnTTL is how long a signed blob URL stays valid.
const cdnTTL = 10 * time.Minute

// cdnPrefix starts every path on the CDN host; the storage path follows.
const cdnPrefix = "/registry-v2"

// blobDataPath is a blob's path in the registry's storage, the only thing
// the CDN serves.
var blobDataPath = regexp.MustCompile(`^/docker/registry/v2/blobs/[a-z0-9]+/[0-9a-f]{2}/[0-9a-f]+/data$`)

// cdnMiddleware is the name of the storage middleware that sends blob GETs
// to the CDN.
const cdnMiddleware = "standin-cdn"

func init() {
	if err := storagemiddleware.Register(cdnMiddleware, newCDNDriver); err != nil {
		panic(err)
	}
}

// cdn serves blobs the registry redirected to it, from signed, expiring
// URLs, and refuses everything else: a bad or expired signature is a 403,
// any other path a 404, as the Hub's CDN does.
type cdn struct {
	host string
	key  []byte

	mu     sync.Mutex
	driver storagedriver.StorageDriver // the registry's storage, set when the registry starts
}

func newCDN(host string) *cdn { return &cdn{host: host, key: []byte(randomString(32))} }

// newCDNDriver is the storage middleware: the registry's driver, whose
// RedirectURL for a GET is a signed URL on the CDN host. The distribution
// registry calls it for a blob only after the request's token passed, and
// answers with a 307 to it.
func newCDNDriver(_ context.Context, d storagedriver.StorageDriver, opts map[string]any) (storagedriver.StorageDriver, error) {
	c, ok := opts["cdn"].(*cdn)
	if !ok {
		return nil, errors.New("stand-in cdn middleware: no cdn option")
	}
	c.mu.Lock()
	c.driver = d
	c.mu.Unlock()
	return cdnDriver{StorageDriver: d, cdn: c}, nil
}

type cdnDriver struct {
	storagedriver.StorageDriver
	cdn *cdn
}

// RedirectURL is a signed CDN URL for a GET. Docker Hub answers HEAD for a
// blob itself, so HEAD gets none and the registry serves it.
func (d cdnDriver) RedirectURL(r *http.Request, path string) (string, error) {
	if r.Method != http.MethodGet {
		return "", nil
	}
	return d.cdn.signedURL(path, time.Now().Add(cdnTTL)), nil
}

// signedURL is the CDN URL of a storage path, valid until expires.
func (c *cdn) signedURL(path string, expires time.Time) string {
	exp := strconv.FormatInt(expires.Unix(), 10)
	q := url.Values{"expires": {exp}, "signature": {c.sign(path, exp)}}
	u := url.URL{Scheme: "https", Host: c.host, Path: cdnPrefix + path, RawQuery: q.Encode()}
	return u.String()
}

// sign is the HMAC of a storage path and an expiry.
func (c *cdn) sign(path, expires string) string {
	m := hmac.New(sha256.New, c.key)
	fmt.Fprintf(m, "%s\n%s", path, expires)
	return hex.EncodeToString(m.Sum(nil))
}

// valid reports whether the query signs path and has not expired. It must
// hold exactly one expiry and one signature.
func (c *cdn) valid(path string, q url.Values) bool {
	if len(q) != 2 || len(q["expires"]) != 1 || len(q["signature"]) != 1 {
		return false
	}
	exp := q.Get("expires")
	unix, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || !time.Now().Before(time.Unix(unix, 0)) {
		return false
	}
	return hmac.Equal([]byte(q.Get("signature")), []byte(c.sign(path, exp)))
}

func (c *cdn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutPrefix(r.URL.Path, cdnPrefix)
	if !ok || !blobDataPath.MatchString(path) || r.URL.RawPath != "" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil || !c.valid(path, q) {
		http.Error(w, "signature invalid or expired", http.StatusForbidden)
		return
	}
	c.mu.Lock()
	d := c.driver
	c.mu.Unlock()
	fi, err := d.Stat(r.Context(), path)
	if err != nil || fi.IsDir() {
		http.NotFound(w, r)
		return
	}
	br := &blobReader{ctx: r.Context(), driver: d, path: path, size: fi.Size()}
	defer br.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, "", time.Time{}, br)
}

// blobReader reads a stored blob from any offset, opening the driver's
// reader on the first Read after a Seek, so that http.ServeContent can
// answer Range requests.
type blobReader struct {
	ctx    context.Context
	driver storagedriver.StorageDriver
	path   string
	size   int64
	off    int64
	rc     io.ReadCloser
}

func (b *blobReader) Read(p []byte) (int, error) {
	if b.off >= b.size {
		return 0, io.EOF
	}
	if b.rc == nil {
		rc, err := b.driver.Reader(b.ctx, b.path, b.off)
		if err != nil {
			return 0, err
		}
		b.rc = rc
	}
	n, err := b.rc.Read(p)
	b.off += int64(n)
	return n, err
}

func (b *blobReader) Seek(offset int64, whence int) (int64, error) {
	abs := offset
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		abs += b.off
	case io.SeekEnd:
		abs += b.size
	default:
		return 0, errors.New("blob reader: bad whence")
	}
	if abs < 0 {
		return 0, errors.New("blob reader: negative position")
	}
	if abs != b.off {
		b.Close()
		b.off = abs
	}
	return abs, nil
}

// Close closes the driver's reader, if one is open.
func (b *blobReader) Close() error {
	if b.rc == nil {
		return nil
	}
	err := b.rc.Close()
	b.rc = nil
	return err
}
