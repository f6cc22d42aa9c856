// Package store is Greeter's durable state: the only package that knows SQL.
//
// It opens the SQLite database, applies the embedded migrations and offers one
// method per query. Every query that takes the id of an organization's row also
// takes the organization and is scoped by it, so that an id of another
// organization behaves exactly like an id that does not exist (ErrNotFound).
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Sentinel errors that callers branch on. Returned errors wrap them.
var (
	// ErrNotFound means the row does not exist or belongs to another organization.
	ErrNotFound = errors.New("store: not found")
	// ErrEmailTaken means another user already has this email address.
	ErrEmailTaken = errors.New("store: email already taken")
	// ErrConflict means a uniqueness rule refused the write (a duplicate name,
	// a second profile for a user, a call log id reused by another org).
	ErrConflict = errors.New("store: conflict")
	// ErrInvalid means a value broke a constraint of the schema (a range, an
	// enum, a length).
	ErrInvalid = errors.New("store: invalid value")
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a handle on the database. It is safe for concurrent use.
type Store struct {
	db *sql.DB
}

// Open opens (creating if needed) the SQLite database at path. It does not
// migrate; call Migrate for that.
func Open(ctx context.Context, path string) (*Store, error) {
	// The file holds password hashes: a new one is readable by its owner
	// only (SQLite gives its -wal and -shm files the same mode).
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	}
	db, err := sql.Open("sqlite", path+"?"+connectionParams())
	if err != nil {
		return nil, fmt.Errorf("store: unable to open %s: %w", path, err)
	}

	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: unable to open %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// connectionParams returns the DSN parameters applied to every pooled
// connection. The driver runs the _pragma list (busy_timeout first, the rest
// sorted by name) before the _foreign_keys and _synchronous keys, which gives
// the order busy_timeout, journal_mode, foreign_keys, synchronous: the busy
// timeout must come first so that switching to WAL waits for other writers.
// Transactions begin IMMEDIATE so that a read-then-write transaction cannot
// fail with SQLITE_BUSY when it upgrades its lock.
func connectionParams() string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Set("_foreign_keys", "1")
	q.Set("_synchronous", "NORMAL")
	q.Set("_txlock", "immediate")
	return q.Encode()
}

// Migrate applies every embedded migration that has not run yet.
func (s *Store) Migrate(ctx context.Context) error {
	dir, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("store: unable to read migrations: %w", err)
	}

	p, err := goose.NewProvider(goose.DialectSQLite3, s.db, dir)
	if err != nil {
		return fmt.Errorf("store: unable to prepare migrations: %w", err)
	}

	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("store: unable to migrate: %w", err)
	}
	return nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("store: unable to reach the database: %w", err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: unable to close the database: %w", err)
	}
	return nil
}

// inTx runs fn in a transaction, committing when fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}

	if err := fn(tx); err != nil {
		_ = tx.Rollback() // the error of fn is the one worth reporting
		return err
	}
	return tx.Commit()
}

// classify turns a constraint failure of the driver into the matching sentinel
// error, keeping the driver's message. Other errors are returned unchanged.
func classify(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}

	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		if strings.Contains(se.Error(), "users.email") {
			return fmt.Errorf("%w (%w)", ErrEmailTaken, err)
		}
		return fmt.Errorf("%w (%w)", ErrConflict, err)
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		// A reference to a row that does not exist, or that exists in
		// another organization, which is meant to look the same.
		return fmt.Errorf("%w (%w)", ErrNotFound, err)
	case sqlite3.SQLITE_CONSTRAINT_CHECK, sqlite3.SQLITE_CONSTRAINT_NOTNULL:
		return fmt.Errorf("%w (%w)", ErrInvalid, err)
	}
	return err
}

// notFoundIfNoRows turns sql.ErrNoRows into ErrNotFound.
func notFoundIfNoRows(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// mustAffectOne reports ErrNotFound when an update touched no row.
func mustAffectOne(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// collect reads every row of a query with scan. It takes QueryContext's
// results as they come, so that each list method states only its query; what
// names the list in error messages ("list pools").
func collect[T any](rows *sql.Rows, err error, what string,
	scan func(scanner) (T, error)) ([]T, error) {

	if err != nil {
		return nil, fmt.Errorf("store: unable to %s: %w", what, err)
	}
	defer rows.Close()

	var list []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("store: unable to %s: %w", what, err)
		}
		list = append(list, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: unable to %s: %w", what, err)
	}
	return list, nil
}

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface {
	Scan(dest ...any) error
}

// execer is what *sql.DB and *sql.Tx have in common.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}
