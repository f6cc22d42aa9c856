// Package ids defines Greeter's identifier types and how new ones are made.
//
// Each kind of identifier is its own string type, so that an agent id can never
// be passed where a visitor id is expected. Stored rows use UUIDv7; live objects
// (requests, calls) use a prefix and 128 random bits in base62.
package ids

import (
	"crypto/rand"
	"math/big"

	"github.com/google/uuid"
)

// Row and live object identifiers.
type (
	OrgID     string
	UserID    string
	AgentID   string // the id of an agent profile, never of its user
	SiteID    string
	PoolID    string
	CallLogID string
	VisitorID string
	RequestID string
	CallID    string
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// NewRow returns a fresh UUIDv7 string for a database row.
func NewRow() string {
	id, err := uuid.NewV7()
	if err != nil {
		// NewV7 fails only when the system's random source fails, which
		// leaves nothing sensible to do.
		panic("ids: unable to read random bytes: " + err.Error())
	}
	return id.String()
}

// NewRequestID returns a new call-request id ("req_" + 128 random bits).
func NewRequestID() RequestID { return RequestID("req_" + Random(22)) }

// NewCallID returns a new call id ("call_" + 128 random bits).
func NewCallID() CallID { return CallID("call_" + Random(22)) }

// NewSiteKey returns a new public site key: "pk_" and 24 base62 characters.
func NewSiteKey() string { return "pk_" + Random(24) }

// Random returns n random base62 characters (about 5.95 bits each).
func Random(n int) string {
	max := big.NewInt(int64(len(base62)))
	b := make([]byte, n)
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic("ids: unable to read random bytes: " + err.Error())
		}
		b[i] = base62[v.Int64()]
	}
	return string(b)
}
