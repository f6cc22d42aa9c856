package store

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// timeLayout is how timestamps are stored: UTC, fixed width, so that text
// order is time order and a value read back equals the value written.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// formatTime returns t as stored.
func formatTime(t time.Time) string {
	return t.UTC().Format(timeLayout)
}

// parseTime reads a stored timestamp.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("store: bad timestamp %q: %w", s, err)
	}
	return t.UTC(), nil
}

// nullTime returns the value to store for an optional timestamp.
func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return formatTime(*t)
}

// nullString stores "" as NULL.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nullInt stores nil as NULL.
func nullInt(n *int) any {
	if n == nil {
		return nil
	}
	return *n
}

// timeCol scans a NOT NULL timestamp column.
type timeCol struct{ t *time.Time }

// Scan implements sql.Scanner.
func (c timeCol) Scan(src any) error {
	s, ok := src.(string)
	if !ok {
		return fmt.Errorf("store: timestamp column holds %T", src)
	}

	t, err := parseTime(s)
	if err != nil {
		return err
	}
	*c.t = t
	return nil
}

// nullTimeCol scans a nullable timestamp column into a pointer.
type nullTimeCol struct{ t **time.Time }

// Scan implements sql.Scanner.
func (c nullTimeCol) Scan(src any) error {
	if src == nil {
		*c.t = nil
		return nil
	}

	var t time.Time
	if err := (timeCol{&t}).Scan(src); err != nil {
		return err
	}
	*c.t = &t
	return nil
}

// nullIntCol scans a nullable integer column into a pointer.
type nullIntCol struct{ n **int }

// Scan implements sql.Scanner.
func (c nullIntCol) Scan(src any) error {
	var v sql.NullInt64
	if err := v.Scan(src); err != nil {
		return err
	}
	if !v.Valid {
		*c.n = nil
		return nil
	}

	n := int(v.Int64)
	*c.n = &n
	return nil
}

// jsonText returns raw as stored JSON text, or fallback when raw is empty.
func jsonText(raw json.RawMessage, fallback string) string {
	if len(raw) == 0 {
		return fallback
	}
	return string(raw)
}

// nullStringCol scans a nullable text column, NULL becoming "".
type nullStringCol[T ~string] struct{ p *T }

// Scan implements sql.Scanner.
func (c nullStringCol[T]) Scan(src any) error {
	var v sql.NullString
	if err := v.Scan(src); err != nil {
		return err
	}
	*c.p = T(v.String)
	return nil
}
