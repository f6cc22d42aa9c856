package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// MaxAck is the largest ack number a client may use.
const MaxAck = 1<<31 - 1

// Frame is one decoded client frame.
type Frame struct {
	Event string
	// Data is the raw "data" object; never nil after Decode ("{}" when the
	// client omitted it).
	Data json.RawMessage
	// Ack is the client's ack number, or 0 when the frame asks for none.
	Ack int
}

type wireFrame struct {
	Event json.RawMessage `json:"event"`
	Data  json.RawMessage `json:"data"`
	Ack   json.RawMessage `json:"ack"`
}

var emptyObject = json.RawMessage("{}")

// Decode parses a client frame. It checks the envelope only: the event name
// is a non-empty string, data is an object if present and ack an integer in
// [1, MaxAck]. When the error is about data or event, the ack number is still
// returned so that the caller can answer in the ack.
func Decode(b []byte) (Frame, *Error) {
	var w wireFrame
	if err := json.Unmarshal(b, &w); err != nil {
		return Frame{}, Errorf(CodeInvalidPayload, "The frame is not a JSON object.")
	}
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		return Frame{}, Errorf(CodeInvalidPayload, "The frame is not a JSON object.")
	}

	var f Frame
	if len(w.Ack) > 0 && !isNull(w.Ack) {
		n, err := strconv.ParseInt(string(w.Ack), 10, 64)
		if err != nil || n < 1 || n > MaxAck {
			return Frame{}, Errorf(CodeInvalidPayload,
				"ack must be an integer from 1 to 2147483647.")
		}
		f.Ack = int(n)
	}
	if err := json.Unmarshal(w.Event, &f.Event); err != nil || f.Event == "" {
		return f, Errorf(CodeInvalidPayload, "event must be a non-empty string.")
	}
	switch {
	case len(w.Data) == 0 || isNull(w.Data):
		f.Data = emptyObject
	case w.Data[0] != '{':
		return f, Errorf(CodeInvalidPayload, "data must be an object.")
	default:
		f.Data = w.Data
	}
	return f, nil
}

func isNull(b json.RawMessage) bool { return bytes.Equal(b, []byte("null")) }

// DecodeData unmarshals an event's data into v. Unknown fields are ignored;
// a field of the wrong type gives INVALID_PAYLOAD naming the field.
func DecodeData(data json.RawMessage, v any) *Error {
	err := json.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return Errorf(CodeInvalidPayload,
			fmt.Sprintf("%s must be a %s.", typeErr.Field, jsonKind(typeErr.Type.Kind().String())))
	}
	return Errorf(CodeInvalidPayload, "data is not valid for this event.")
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "int", "int64", "int32", "float64":
		return "number"
	case "map", "struct":
		return "object"
	case "slice":
		return "array"
	}
	return goKind
}

// Encode builds a server frame {"event": event, "data": data}.
func Encode(event string, data any) []byte {
	b, err := json.Marshal(struct {
		Event string `json:"event"`
		Data  any    `json:"data"`
	}{event, data})
	if err != nil {
		// Every payload is a plain struct of ours; failing to encode one is a
		// programming error that tests catch.
		panic("protocol: unable to encode " + event + ": " + err.Error())
	}
	return b
}

// EncodeAck builds the reply to a frame that carried ack n: on success the
// result's fields are merged next to "ok":true; on failure the error is sent.
func EncodeAck(n int, result any, perr *Error) []byte {
	var buf bytes.Buffer
	buf.WriteString(`{"event":"ack","ack":`)
	buf.WriteString(strconv.Itoa(n))
	if perr != nil {
		e, _ := json.Marshal(perr)
		buf.WriteString(`,"data":{"ok":false,"error":`)
		buf.Write(e)
		buf.WriteString("}}")
		return buf.Bytes()
	}

	buf.WriteString(`,"data":{"ok":true`)
	if result != nil {
		r, err := json.Marshal(result)
		if err != nil {
			panic("protocol: unable to encode ack result: " + err.Error())
		}
		if inner := bytes.TrimSpace(r[1 : len(r)-1]); len(inner) > 0 {
			buf.WriteByte(',')
			buf.Write(inner)
		}
	}
	buf.WriteString("}}")
	return buf.Bytes()
}

// EncodeError builds an "error" event for a failed frame that carried no ack.
func EncodeError(perr *Error, event string) []byte {
	return Encode(EventError, struct {
		Code              string `json:"code"`
		Message           string `json:"message"`
		RetryAfterSeconds int    `json:"retryAfterSeconds,omitempty"`
		Event             string `json:"event,omitempty"`
	}{perr.Code, perr.Message, perr.RetryAfterSeconds, event})
}
