package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
)

// Error codes of the JSON API (SPEC §15).
const (
	CodeBadRequest      = "BAD_REQUEST"
	CodeAuthFailed      = "AUTH_FAILED"
	CodeUnauthorized    = "UNAUTHORIZED"
	CodeForbidden       = "FORBIDDEN"
	CodeNotFound        = "NOT_FOUND"
	CodePayloadTooLarge = "PAYLOAD_TOO_LARGE"
	CodeInternal        = "INTERNAL_ERROR"
)

// MaxBodyBytes is the largest JSON body the API reads (SPEC §16.3).
const MaxBodyBytes = 64 << 10

// BodyError is why DecodeJSON refused a request body, with the answer to give.
type BodyError struct {
	Status  int
	Code    string
	Message string
}

// Error implements error.
func (e *BodyError) Error() string {
	return "httpapi: " + e.Message
}

// errorBody is the JSON of every error answer.
type errorBody struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// WriteJSON answers with v as JSON. API answers are never cached.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only a programming error gets here: every answer is a plain struct.
		http.Error(w, `{"error":"Something went wrong","code":"INTERNAL_ERROR"}`,
			http.StatusInternalServerError)
		return
	}

	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	// A failed write means the client went away; there is nobody left to tell.
	_, _ = w.Write(append(body, '\n'))
}

// WriteError answers with the API's error shape.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	WriteJSON(w, status, errorBody{Error: message, Code: code})
}

// DecodeJSON reads a JSON object of at most limit bytes into dst, ignoring
// unknown fields. It returns a *BodyError when the body is too large (413),
// not an object, not JSON, or has a field of the wrong type (400, naming the
// field).
func DecodeJSON(w http.ResponseWriter, r *http.Request, dst any, limit int64) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &BodyError{http.StatusRequestEntityTooLarge, CodePayloadTooLarge,
				fmt.Sprintf("Request body is larger than %d KiB", limit>>10)}
		}
		return &BodyError{http.StatusBadRequest, CodeBadRequest, "Unable to read the request body"}
	}

	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return &BodyError{http.StatusBadRequest, CodeBadRequest,
			"Request body must be a JSON object"}
	}

	if err := json.Unmarshal(body, dst); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return &BodyError{http.StatusBadRequest, CodeBadRequest,
				fmt.Sprintf("%s must be %s", typeErr.Field, jsonKind(typeErr.Type))}
		}
		return &BodyError{http.StatusBadRequest, CodeBadRequest, "Request body is not valid JSON"}
	}
	return nil
}

// decode is DecodeJSON with the API's limit, answering the error itself.
func (a *API) decode(w http.ResponseWriter, r *http.Request, dst any) bool {
	err := DecodeJSON(w, r, dst, MaxBodyBytes)
	if err == nil {
		return true
	}

	var be *BodyError
	if errors.As(err, &be) {
		WriteError(w, be.Status, be.Code, be.Message)
		return false
	}
	a.internalError(w, r, err)
	return false
}

// jsonKind names the JSON type that decodes into t, with its article.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "an object"
}
