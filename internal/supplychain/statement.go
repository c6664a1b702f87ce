package supplychain

import (
	"encoding/json"
	"fmt"
	"strings"
)

// inTotoStatement is the in-toto v1 statement type.
const inTotoStatement = "https://in-toto.io/Statement/v1"

// subject is a statement's subject: an image or platform manifest by
// digest.
type subject struct {
	Name        string
	Digest      string // sha256:<hex>
	Annotations map[string]string
}

// wireStatement is an in-toto v1 statement as JSON.
type wireStatement struct {
	Type          string          `json:"_type"`
	Subject       []wireSubject   `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

type wireSubject struct {
	Name        string            `json:"name,omitempty"`
	Digest      map[string]string `json:"digest"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// statement returns the in-toto statement of predicate (a JSON object; an
// empty one when nil) about subjects.
func statement(subjects []subject, predicateType string, predicate []byte) ([]byte, error) {
	if predicate == nil {
		predicate = []byte("{}")
	}
	s := wireStatement{Type: inTotoStatement, PredicateType: predicateType, Predicate: predicate}
	for _, sub := range subjects {
		alg, hex, ok := strings.Cut(sub.Digest, ":")
		if !ok {
			return nil, fmt.Errorf("statement about %s: digest %q is not <algorithm>:<hex>", sub.Name, sub.Digest)
		}
		s.Subject = append(s.Subject, wireSubject{Name: sub.Name, Digest: map[string]string{alg: hex}, Annotations: sub.Annotations})
	}
	return json.Marshal(s)
}

// subjectsOf returns the subjects of a statement.
func subjectsOf(stmt []byte) ([]subject, error) {
	var s wireStatement
	if err := json.Unmarshal(stmt, &s); err != nil {
		return nil, fmt.Errorf("read the in-toto statement: %w", err)
	}
	var subjects []subject
	for _, sub := range s.Subject {
		for alg, hex := range sub.Digest {
			subjects = append(subjects, subject{Name: sub.Name, Digest: alg + ":" + hex, Annotations: sub.Annotations})
		}
	}
	return subjects, nil
}

// predicate returns the predicate of a statement.
func predicate(stmt []byte) ([]byte, error) {
	var s wireStatement
	if err := json.Unmarshal(stmt, &s); err != nil {
		return nil, fmt.Errorf("read the in-toto statement: %w", err)
	}
	if len(s.Predicate) == 0 || string(s.Predicate) == "null" {
		return nil, fmt.Errorf("the %s statement has no predicate", s.PredicateType)
	}
	return s.Predicate, nil
}
