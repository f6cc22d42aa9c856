package httpapi

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// validName reports whether s, trimmed, is a name people may be shown: 1 to
// max characters, none of them a control character (NUL, line breaks,
// tabs) or a bidirectional override that would make the text around it
// read in another order.
func validName(s string, max int) bool {
	s = strings.TrimSpace(s)
	if n := utf8.RuneCountInString(s); n < 1 || n > max || !utf8.ValidString(s) {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)
	})
}

// nameRule is what a refused name is told: its field and its limits.
func nameRule(field string, max int) string {
	return field + " must be 1 to " + strconv.Itoa(max) + " characters, without control characters"
}
