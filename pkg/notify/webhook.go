package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
)

// The generic webhook's headers.
const (
	// HeaderEvent is the event's type.
	HeaderEvent = "X-Bgrender-Event"
	// HeaderDelivery is the event's id, the same on every retry.
	HeaderDelivery = "X-Bgrender-Delivery"
	// HeaderSignature is "sha256=" and the hex HMAC-SHA256 of the body,
	// keyed with the target's secret.
	HeaderSignature = "X-Bgrender-Signature-256"
)

// Sign is the HeaderSignature value of body under key.
func Sign(key, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether signature (a HeaderSignature value) signs body
// under key, in constant time: what a receiver runs.
func Verify(key, body []byte, signature string) bool {
	return hmac.Equal([]byte(Sign(key, body)), []byte(signature))
}

func (s *session) sendWebhook(ctx context.Context, url, key string, ev Event) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	h := http.Header{}
	h.Set(HeaderEvent, ev.Type)
	h.Set(HeaderDelivery, ev.ID)
	h.Set(HeaderSignature, Sign([]byte(key), body))
	if _, err := s.do(ctx, request{method: http.MethodPost, url: url, header: h, body: body}); err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	return nil
}
