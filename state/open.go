package state

import (
	"strings"
)

// IsDatabaseURL reports whether a state location names a PostgreSQL
// database rather than a state directory.
func IsDatabaseURL(location string) bool {
	return strings.HasPrefix(location, "postgres://") || strings.HasPrefix(location, "postgresql://")
}

// Open returns the store at location: a postgres:// URL opens the shared
// PostgreSQL store (nothing connects until first use), anything else is a
// state directory.
func Open(location string) (Store, error) {
	if IsDatabaseURL(location) {
		return OpenPostgres(location, PostgresOptions{})
	}
	return OpenFiles(location), nil
}
